// The test API server's TLS material: a throw-away CA and a server certificate it signs, made with
// the openssl CLI (Node's crypto cannot sign X.509). Real clients (kubectl, client-node) verify the
// chain against the kubeconfig's certificate-authority-data, as they do for a real cluster.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface TestTls {
  /** PEM of the CA that signed `cert`: what a kubeconfig's certificate-authority-data carries. */
  readonly caPem: string;
  /** PEM of the server certificate (SAN IP:127.0.0.1, DNS:localhost) and its private key. */
  readonly certPem: string;
  readonly keyPem: string;
}

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { cwd, timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`openssl ${args.join(" ")} failed: ${stderr}`, { cause: error }));
    });
  });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes a fresh CA and a server certificate signed by it, valid for two days. */
export async function generateTestTls(): Promise<TestTls> {
  const dir = mkdtempSync(join(tmpdir(), "k8s-api-tls-"));
  try {
    await openssl(
      [
        "req",
        "-x509",
        ...EC_KEY,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=ovnkube-trace-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ],
      dir,
    );
    await openssl(
      [
        "req",
        "-new",
        ...EC_KEY,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=kube-apiserver",
      ],
      dir,
    );
    // Go's crypto/x509 (kubectl) ignores the CN: the address must be in the SAN.
    writeFileSync(
      join(dir, "server.ext"),
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "",
      ].join("\n"),
    );
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        `0x${randomBytes(8).toString("hex").replace(/^./, "1")}`,
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
      ],
      dir,
    );
    const read = (file: string): string => readFileSync(join(dir, file), "utf8");
    return { caPem: read("ca.crt"), certPem: read("server.crt"), keyPem: read("server.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let shared: Promise<TestTls> | undefined;

/** One CA and certificate per process: every test API server of a test file serves the same. */
export function testTls(): Promise<TestTls> {
  shared ??= generateTestTls();
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}
