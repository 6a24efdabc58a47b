// A throwaway test CA and a server certificate it signed, made with the `openssl` command (Node's
// crypto cannot issue X.509 certificates), and the switch that makes Chromium trust that one
// server key and nothing else.

import { execFileSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const openssl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 10000 });

// ECDSA P-256 throughout, valid for a day, for localhost, 127.0.0.1, ::1 and each of dnsNames.
// Returns the PEM file paths, the base64 SHA-256 of the server certificate's
// SubjectPublicKeyInfo, and remove() for the directory.
export function makeTestCertificates({ dnsNames = [] } = {})
{
    const dir = mkdtempSync(join(tmpdir(), "signald-e2e-tls-"));
    const file = (name) => join(dir, name);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl("req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "1",
        "-subj", "/CN=signald e2e test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
    openssl("req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost");
    writeFileSync(file("server.ext"), [
        `subjectAltName = ${["DNS:localhost", "IP:127.0.0.1", "IP:::1", ...dnsNames.map((n) => `DNS:${n}`)].join(", ")}`,
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature",
        "extendedKeyUsage = serverAuth",
        "",
    ].join("\n"));
    openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"),
        "-set_serial", "2", "-days", "1", "-extfile", file("server.ext"), "-out", file("server.pem"));

    const spki = new X509Certificate(readFileSync(file("server.pem"))).publicKey.export({ type: "spki", format: "der" });
    return {
        dir,
        caCert: file("ca.pem"),
        cert: file("server.pem"),
        key: file("server.key"),
        spkiSha256: createHash("sha256").update(spki).digest("base64"),
        remove: () => rmSync(dir, { recursive: true, force: true }),
    };
}

// Chromium accepts a certificate whose chain it cannot verify only if the key is in this list:
// the test's server is trusted, any other certificate error still fails.
export const trustKeyArgs = (spkiSha256) => [`--ignore-certificate-errors-spki-list=${spkiSha256}`];
