#pragma once
// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests that scrape
// GET /metrics: every line is a HELP, a TYPE or a sample `name{labels} value`; each family has one
// HELP and one TYPE before its samples and its samples together; counters, and only counters, end
// in _total; label values use only the format's three escapes; values are plain finite numbers; no
// series appears twice. What breaks a rule is listed in problems, not thrown.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {

struct Exposition
{
    // Series in canonical form, labels sorted by name: name{a="x",b="y"}.
    std::map<std::string, double> samples;
    std::map<std::string, std::string> types; // family name -> counter | gauge
    std::vector<std::string> problems;

    // One series' value; NaN if it is absent (so any comparison with it fails).
    double at(const std::string& series) const;
    // The series of one family, by canonical name.
    std::map<std::string, double> family(const std::string& name) const;
};

Exposition parse_exposition(std::string_view body);

} // namespace signald::test
