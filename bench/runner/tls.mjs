// wss:// for both servers: a throwaway P-256 certificate (as bench/tls_idle.mjs makes) and a
// server started with it. Used by the table's *-wss scenarios (run.mjs) and by the curves.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// { dir, args, remove() }: args are both servers' --tls-cert/--tls-key; remove() deletes the
// directory.
export function makeCertificate(prefix = "signald-bench-tls-")
{
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt",
                             "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                             "/CN=localhost", "-keyout", key, "-out", cert], { stdio: "ignore" });
    return { dir, args: ["--tls-cert", cert, "--tls-key", key],
             remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// The same server with the certificate: it then prints `listening on https://`, and the runner
// hands the generator a wss:// URL. id and label default to the server's with ", wss://".
export function overTls(server, certificate, makeServer,
                        { id = `${server.id}-wss`, label = `${server.label}, wss://` } = {})
{
    return makeServer({ id, label, program: server.program,
                        args: (scenario) => [...server.args(scenario), ...certificate.args] });
}
