#!/usr/bin/python3
"""Checks config/grafana/signald.json the way Grafana and Prometheus would read it.

1. The JSON Schema of the subset of Grafana's dashboard model it relies on
   (grafana-dashboard.schema.json), with Debian's python3-jsonschema.
2. What a schema cannot say: panel ids unique across the whole dashboard (rows' panels included),
   refIds unique within a panel, panels inside the 24-column grid and not overlapping (a collapsed
   row's panels among themselves, below their row), every $variable in a query defined.
3. Every PromQL expression parses: with the variables replaced by values of their kind, each one
   becomes a recording rule in a scratch file that `promtool check rules` must accept.

    check_dashboard.py --promtool PATH DASHBOARD SCHEMA            check the dashboard
    check_dashboard.py --promtool PATH DASHBOARD SCHEMA --self-test
        also break a copy of the dashboard in each way above and require that the check notices
"""

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema

# Grafana's own variables, and what stands in for them when promtool parses a query.
BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def all_panels(dashboard):
    """Every panel with the row it sits in (None at the top level)."""
    for panel in dashboard.get("panels", []):
        yield panel, None
        for child in panel.get("panels", []) or []:
            yield child, panel


def queries(dashboard):
    """(where, expr) for every PromQL expression: panel targets, annotations, variables."""
    for panel, _ in all_panels(dashboard):
        for target in panel.get("targets", []) or []:
            if isinstance(target.get("expr"), str):
                where = "panel %s %r target %s" % (panel.get("id"), panel.get("title"),
                                                   target.get("refId"))
                yield where, target["expr"]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if isinstance(annotation.get("expr"), str):
            yield "annotation %r" % annotation.get("name"), annotation["expr"]


def schema_problems(dashboard, schema):
    validator = jsonschema.Draft202012Validator(schema)
    return ["schema: %s: %s" % ("/".join(str(p) for p in error.absolute_path) or "(top)",
                                error.message)
            for error in sorted(validator.iter_errors(dashboard), key=lambda e: list(e.path))]


def overlaps(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
            a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def layout_problems(dashboard):
    problems = []
    seen = {}
    for panel, _ in all_panels(dashboard):
        pid = panel.get("id")
        if pid in seen:
            problems.append("id: panels %r and %r share id %s" % (seen[pid], panel.get("title"), pid))
        seen[pid] = panel.get("title")
        refs = [t.get("refId") for t in panel.get("targets", []) or []]
        if len(refs) != len(set(refs)):
            problems.append("refId: panel %s %r repeats a refId" % (pid, panel.get("title")))

    # Grafana lays out the top level, and each collapsed row's panels when it is opened.
    groups = {None: []}
    for panel, row in all_panels(dashboard):
        pos = panel.get("gridPos")
        if not isinstance(pos, dict) or not all(isinstance(pos.get(k), int) for k in "xywh"):
            continue  # the schema reports it
        if pos["x"] + pos["w"] > 24:
            problems.append("grid: panel %s %r is wider than the 24 columns" % (panel.get("id"),
                                                                               panel.get("title")))
        if row is None:
            groups[None].append(panel)
            if panel.get("type") == "row" and not panel.get("collapsed") and panel.get("panels"):
                problems.append("grid: open row %r holds panels (only a collapsed row does)"
                                % panel.get("title"))
        else:
            groups.setdefault(row["id"], []).append(panel)
            if pos["y"] <= row["gridPos"]["y"]:
                problems.append("grid: panel %s %r is not below its row %r" % (
                    panel.get("id"), panel.get("title"), row.get("title")))
    for members in groups.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if overlaps(a["gridPos"], b["gridPos"]):
                    problems.append("grid: panels %s %r and %s %r overlap" % (
                        a.get("id"), a.get("title"), b.get("id"), b.get("title")))
    return problems


def variable_values(dashboard):
    """A value of the right kind for each dashboard variable, for promtool's sake."""
    values = dict(BUILTINS)
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable.get("name")
        # A multi-value variable is a regex (instance=~"$instance"), a single one a plain value.
        values[name] = ".+" if variable.get("multi") or variable.get("includeAll") else "signald"
    return values


def promql_problems(dashboard, promtool):
    values = variable_values(dashboard)
    problems = []
    rules = []
    for where, expr in queries(dashboard):
        undefined = {a or b for a, b in VARIABLE.findall(expr)} - values.keys()
        if undefined:
            problems.append("variables: %s uses undefined %s" % (where, ", ".join(sorted(undefined))))
            continue
        rules.append((where, VARIABLE.sub(lambda m: values[m.group(1) or m.group(2)], expr)))
    if not rules:
        return problems + ["promql: the dashboard has no queries"]
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "dashboard-queries.yml")
        with open(path, "w") as out:
            # JSON strings are valid YAML scalars: no quoting rules of YAML's own to get wrong.
            out.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (_, expr) in enumerate(rules):
                out.write("      - record: dashboard:query_%d\n        expr: %s\n"
                          % (i, json.dumps(expr)))
        result = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            for i, (where, _) in enumerate(rules):
                if '"dashboard:query_%d"' % i in output:
                    problems.append("promql: %s does not parse" % where)
            problems.append("promql: promtool check rules failed:\n" + output)
    return problems


def check(dashboard, schema, promtool):
    return (schema_problems(dashboard, schema) + layout_problems(dashboard) +
            promql_problems(dashboard, promtool))


def first_panel(dashboard, kind):
    return next(p for p, _ in all_panels(dashboard) if p.get("type") == kind)


def self_test(dashboard, schema, promtool):
    """Each way of breaking the dashboard must be reported, with a problem of its own kind."""
    def duplicate_id(d):
        ids = [p for p, _ in all_panels(d)]
        ids[-1]["id"] = ids[1]["id"]

    def overlap(d):
        a, b = [p for p in d["panels"] if p["type"] == "stat"][:2]
        b["gridPos"] = dict(a["gridPos"], x=a["gridPos"]["x"] + 1)

    def bad_promql(d):
        first_panel(d, "timeseries")["targets"][0]["expr"] += ' sum by ('

    def unknown_panel_type(d):
        first_panel(d, "stat")["type"] = "graph-from-the-future"

    def no_ref_id(d):
        del first_panel(d, "timeseries")["targets"][0]["refId"]

    def no_instance(d):
        target = first_panel(d, "timeseries")["targets"][0]
        target["expr"] = target["expr"].replace('instance=~"$instance"', 'instance=~".+"')

    def fixed_datasource(d):
        first_panel(d, "stat")["targets"][0]["datasource"] = {"type": "prometheus", "uid": "P1"}

    def undefined_variable(d):
        first_panel(d, "timeseries")["targets"][0]["expr"] += " * $nowhere"

    def wider_than_grid(d):
        first_panel(d, "stat")["gridPos"]["x"] = 22

    def no_instance_variable(d):
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != "instance"]

    cases = [(duplicate_id, "id:"), (overlap, "grid:"), (bad_promql, "promql:"),
             (unknown_panel_type, "schema:"), (no_ref_id, "schema:"), (no_instance, "schema:"),
             (fixed_datasource, "schema:"), (undefined_variable, "variables:"),
             (wider_than_grid, "grid:"), (no_instance_variable, "schema:")]
    failures = []
    for breaker, kind in cases:
        broken = copy.deepcopy(dashboard)
        breaker(broken)
        problems = check(broken, schema, promtool)
        if not any(p.startswith(kind) for p in problems):
            failures.append("%s: expected a %r problem, got %r" % (breaker.__name__, kind, problems))
        else:
            print("self-test: %s is reported" % breaker.__name__)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", required=True)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("dashboard")
    parser.add_argument("schema")
    args = parser.parse_args()
    if not os.access(args.promtool, os.X_OK):
        print("check_dashboard: promtool not found (%s): run scripts/setup, which installs "
              "Debian's prometheus package for it" % args.promtool, file=sys.stderr)
        return 1
    with open(args.dashboard) as f:
        dashboard = json.load(f)
    with open(args.schema) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)

    problems = check(dashboard, schema, args.promtool)
    if args.self_test:
        problems += self_test(dashboard, schema, args.promtool)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    count = sum(1 for _ in queries(dashboard))
    print("check_dashboard: %d panels, %d queries: all well formed" % (
        sum(1 for _ in all_panels(dashboard)), count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
