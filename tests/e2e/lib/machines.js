// Separate machines on one test "internet", for tests that must cross a network: each machine is a
// network namespace of its own (and a mount namespace, for its own /etc/resolv.conf), joined to the
// test's namespace by a veth pair. The test's namespace is the internet: it routes between the
// machines, and can be told to drop everything between two of them, as a firewall or a NAT that
// defeats hole punching would. Only meant to run inside netns-run.sh, which gives the test a
// namespace of its own to be that internet and a /proc that shows its own processes.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./harness.js";

const run = (command, args) => execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 10000 });
const ip = (...args) => run("ip", args);

// Starts an empty internet. Returns { addMachine, blockBetween, stop }.
export async function startInternet()
{
    if (process.env.SIGNALD_E2E_IN_NETNS !== "1")
        throw new Error("machines.js changes the network it runs in: run it inside tests/e2e/netns-run.sh");
    // Machines are entered by PID through /proc. A /proc of another PID namespace would show some
    // other process under that PID, and its network (the host's, say) would be configured instead.
    if (readlinkSync("/proc/self") !== String(process.pid))
        throw new Error("/proc is not this PID namespace's: run inside tests/e2e/netns-run.sh (it mounts its own)");
    const dir = mkdtempSync(join(tmpdir(), "signald-machines-"));
    const machines = [];
    ip("link", "set", "lo", "up");
    run("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);

    // A machine with one interface, eth0, at address/24 and a default route through the internet's
    // side of the link (gateway, in the same /24). nameserver: the address of its DNS server.
    async function addMachine(name, { address, gateway, nameserver = null })
    {
        // The machine lives as long as this process: its namespaces are this process's.
        const holder = spawn("unshare", ["--net", "--mount", "--", "sleep", "infinity"], { stdio: "ignore" });
        const machine = { name, address, pid: holder.pid, holder };
        machines.push(machine);
        // Ready once unshare has made the namespaces and become sleep, still our own child.
        const ownNet = readlinkSync("/proc/self/ns/net");
        const ready = () => readlinkSync(`/proc/${holder.pid}/ns/net`) !== ownNet &&
            readFileSync(`/proc/${holder.pid}/cmdline`, "latin1") === "sleep\0infinity\0" &&
            readFileSync(`/proc/${holder.pid}/stat`, "latin1").split(") ")[1].split(" ")[1] === String(process.pid);
        await waitFor(ready, { timeout: 5000, interval: 20, what: `${name}'s namespaces` });

        const inside = (command, ...args) =>
            run("nsenter", [`--target=${holder.pid}`, "--net", "--mount", "--", command, ...args]);
        const link = `to-${name}`;
        ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", String(holder.pid));
        ip("addr", "add", `${gateway}/24`, "dev", link);
        ip("link", "set", link, "up");
        inside("ip", "link", "set", "lo", "up");
        inside("ip", "addr", "add", `${address}/24`, "dev", "eth0");
        inside("ip", "link", "set", "eth0", "up");
        inside("ip", "route", "add", "default", "via", gateway);
        // A veth end is "state UP" once both ends are: before that, the first packets are lost.
        // (ip, not /sys/class/net: sysfs shows the namespace it was mounted in, not the reader's.)
        const up = (show) => / state UP /.test(show.toString());
        await waitFor(() => up(ip("-o", "link", "show", "dev", link)) && up(inside("ip", "-o", "link", "show", "dev", "eth0")),
            { timeout: 5000, interval: 20, what: `the link to ${name} to come up` });

        // Its own name service: localhost in /etc/hosts, and nameserver (if any) for the rest.
        const etc = { hosts: "127.0.0.1 localhost\n::1 localhost\n", "resolv.conf": nameserver ? `nameserver ${nameserver}\n` : "" };
        for (const [file, text] of Object.entries(etc)) {
            const path = join(dir, `${name}.${file}`);
            writeFileSync(path, text);
            inside("mount", "--bind", path, `/etc/${file}`);
        }

        // Runs a program on this machine: nsenter execs it in place, so the child's PID is the
        // program's own and stopping it by PID stops the program.
        machine.command = (program, args = []) =>
            ["nsenter", [`--target=${holder.pid}`, "--net", "--mount", "--", program, ...args]];
        // An executable that runs `program` on this machine with the arguments it is given, for
        // launchers that take a path (Playwright's executablePath).
        machine.wrapper = (program) => {
            const path = join(dir, `${name}-${program.replace(/\W+/g, "_")}`);
            writeFileSync(path, `#!/bin/sh\nexec nsenter --target=${holder.pid} --net --mount -- ${program} "$@"\n`);
            chmodSync(path, 0o755);
            return path;
        };
        return machine;
    }

    // From now on the internet silently drops every packet between the two networks, both ways,
    // as a firewall or a NAT that admits no unsolicited packet would.
    function blockBetween(network, other)
    {
        ip("rule", "add", "from", network, "to", other, "blackhole");
        ip("rule", "add", "from", other, "to", network, "blackhole");
    }

    async function stop()
    {
        for (const machine of machines) {
            const exited = new Promise((resolve) => machine.holder.once("exit", resolve));
            if (machine.holder.exitCode === null && machine.holder.signalCode === null) {
                machine.holder.kill("SIGKILL");
                await exited;
            }
        }
        rmSync(dir, { recursive: true, force: true });
    }

    return { addMachine, blockBetween, stop };
}
