// The facts a result needs beside it to mean anything: CPU, kernel, commit and the versions of
// what was measured. bench/README.md's "Latest results" is filled in from this.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";

function tryRead(read)
{
    try {
        return read();
    } catch {
        return "unknown";
    }
}

function git(repoRoot, ...args)
{
    return execFileSync("git", ["-C", repoRoot, ...args], { encoding: "utf8" }).trim();
}

export function describeMachine(repoRoot)
{
    const cpuinfo = tryRead(() => readFileSync("/proc/cpuinfo", "utf8"));
    const boost = tryRead(() => /#define BOOST_LIB_VERSION "([^"]+)"/
        .exec(readFileSync("/usr/include/boost/version.hpp", "utf8"))[1].replace("_", "."));
    const wsPackage = join(repoRoot, "bench/baselines/node-ws/node_modules/ws/package.json");
    return {
        cpu: tryRead(() => /^model name\s*:\s*(.*)$/m.exec(cpuinfo)[1]),
        cpus: cpus().length,
        memory_gib: Math.round(totalmem() / 2 ** 30),
        kernel: release(),
        commit: tryRead(() => git(repoRoot, "rev-parse", "--short=12", "HEAD")),
        worktree_clean: tryRead(() => git(repoRoot, "status", "--porcelain").length === 0),
        gxx: tryRead(() => execFileSync("g++", ["-dumpfullversion"]).toString().trim()),
        boost,
        node: process.version,
        redis: tryRead(() => /v=(\S+)/.exec(execFileSync("redis-server", ["--version"])
            .toString())[1]),
        ws: tryRead(() => JSON.parse(readFileSync(wsPackage, "utf8")).version),
    };
}

// withCluster: some scenario ran the two-node cluster too.
export function formatMachine(machine, withCluster = false)
{
    const clean = machine.worktree_clean === true ? "" : " (uncommitted changes)";
    return [
        `- CPU: ${machine.cpu}, ${machine.cpus} CPUs, ${machine.memory_gib} GiB RAM`,
        "- Pinning: server on CPU 1, load generator on CPU 0" +
            (withCluster ? "; the 2-node cluster's two nodes and Redis all share CPU 1" : ""),
        `- Kernel: Linux ${machine.kernel}`,
        `- Commit: ${machine.commit}${clean}`,
        `- signald: Release build, g++ ${machine.gxx}, Boost ${machine.boost}`,
        `- Node baseline: Node.js ${machine.node}, ws ${machine.ws}`,
        ...(withCluster ? [`- Cluster: redis-server ${machine.redis} on a unix socket, ` +
                           "no persistence; leader bench0, edge bench1"] : []),
    ].join("\n");
}
