import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Server } from "node:net";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { CLI, cliAsync } from "../helpers/cli.js";
import { newLabDir, processesUnder } from "../helpers/lab.js";

/**
 * Bad input of every kind that needs no running cluster: each case must end with one line on stderr saying what
 * is wrong (and often what to do), its documented exit status, no stack trace, within a bounded time and
 * memory, and nothing written where it should not be.
 */
interface Case {
  readonly name: string;
  readonly args: (scratch: string) => string[];
  readonly code: number;
  readonly says: RegExp;
  readonly env?: NodeJS.ProcessEnv;
}

const CASES: readonly Case[] = [
  { name: "no flags at all", args: () => [], code: EXIT.usage, says: /-src is required/ },
  { name: "unknown flag", args: () => ["--no-such-flag"], code: EXIT.usage, says: /unknown option/ },
  {
    name: "a port out of range",
    args: () => ["-src", "a", "-dst", "b", "-tcp", "-dst-port", "70000"],
    code: EXIT.usage,
    says: /-dst-port must be a number from 1 to 65535/,
  },
  {
    name: "a bad timeout",
    args: () => ["-src", "a", "-dst", "b", "-tcp", "--timeout", "soon"],
    code: EXIT.usage,
    says: /--timeout/,
  },
  {
    name: "two protocols",
    args: () => ["-src", "a", "-dst", "b", "-tcp", "-udp"],
    code: EXIT.usage,
    says: /exactly one of -tcp, -udp, -icmp/,
  },
  {
    name: "a pod name with shell metacharacters, on a lab that is not running",
    args: (d) => ["--lab", d, "-src", "a;rm -rf /tmp/x$(id)", "-dst", "b", "-tcp"],
    code: EXIT.unreachable,
    says: /no lab is running in/,
  },
  {
    name: "parse: an endless input",
    args: () => ["parse", "/dev/zero"],
    code: EXIT.usage,
    says: /input \/dev\/zero is larger than 600 MiB/,
  },
  {
    name: "parse: a missing file",
    args: (d) => ["parse", join(d, "nope.txt")],
    code: EXIT.usage,
    says: /cannot read input .*nope\.txt: ENOENT/,
  },
  {
    name: "parse: a directory",
    args: (d) => ["parse", d],
    code: EXIT.usage,
    says: /cannot read input .*: EISDIR/,
  },
  {
    name: "parse: not an OVS/OVN output",
    args: (d) => ["parse", join(d, "garbage.txt")],
    code: EXIT.parse,
    says: /not an output ovnkube-trace can read/,
  },
  {
    name: "parse: a truncated OVSDB file",
    args: (d) => ["parse", join(d, "cut.db"), "--as", "ovsdb-database"],
    code: EXIT.parse,
    says: /./,
  },
  {
    name: "lab up: an endless scenario file",
    args: (d) => ["lab", "up", "--scenario", "/dev/zero", "--dir", join(d, "lab")],
    code: EXIT.usage,
    says: /scenario file \/dev\/zero is larger than 4 MiB/,
  },
  {
    name: "lab up: a scenario name with a newline",
    args: (d) => ["lab", "up", "--scenario", join(d, "new\nline.yaml"), "--dir", join(d, "lab")],
    code: EXIT.usage,
    says: /cannot read scenario file .*new\\nline\.yaml: ENOENT/,
  },
  {
    name: "lab down: not a lab directory",
    args: (d) => ["lab", "down", "--dir", d],
    code: EXIT.unreachable,
    says: /no lab in .*: nothing to stop/,
  },
  {
    name: "lab status: no lab",
    args: (d) => ["lab", "status", "--dir", join(d, "none")],
    code: EXIT.unreachable,
    says: /no lab in/,
  },
  {
    name: "lab env: no lab",
    args: (d) => ["lab", "env", "ovn-worker", "--dir", join(d, "none")],
    code: EXIT.unreachable,
    says: /no lab is running/,
  },
  {
    name: "snapshot collect: --out is a file",
    args: (d) => ["snapshot", "collect", "--files", join(d, "garbage.txt"), "--out", join(d, "garbage.txt")],
    code: EXIT.usage,
    says: /exists and is not a directory/,
  },
  {
    name: "snapshot collect: no source",
    args: (d) => ["snapshot", "collect", "--out", join(d, "s")],
    code: EXIT.usage,
    says: /give exactly one source/,
  },
  {
    name: "snapshot collect: a missing archive",
    args: (d) => ["snapshot", "collect", "--sos", join(d, "no.tar.xz"), "--out", join(d, "s")],
    code: EXIT.usage,
    says: /no\.tar\.xz/,
  },
  {
    name: "snapshot show: not a snapshot",
    args: (d) => ["snapshot", "show", d],
    code: EXIT.usage,
    says: /manifest|snapshot/,
  },
  {
    name: "snapshot collect: a corrupt archive",
    args: (d) => ["snapshot", "collect", "--sos", join(archives, "corrupt.tar.xz"), "--out", join(d, "s")],
    code: EXIT.usage,
    says: /corrupt\.tar\.xz is not a readable archive/,
  },
  {
    name: "snapshot collect: an archive whose member climbs out (../../)",
    args: (d) => ["snapshot", "collect", "--sos", join(archives, "climbs.tar"), "--out", join(d, "s")],
    code: EXIT.usage,
    says: /climbs\.tar is not a sos report/,
  },
  {
    name: "snapshot collect: a decompression bomb (a 700 MB flow dump in 200 kB)",
    args: (d) => ["snapshot", "collect", "--sos", join(archives, "bomb.tar.xz"), "--out", join(d, "s")],
    code: EXIT.usage,
    says: /no Open vSwitch or OVN data in .*bomb\.tar\.xz/,
  },
  {
    name: "no kubeconfig anywhere",
    args: () => ["-src", "a", "-dst", "b", "-tcp"],
    env: { ...process.env, KUBECONFIG: "", HOME: "/nonexistent", KUBERNETES_SERVICE_HOST: "" },
    code: EXIT.unreachable,
    says: /no kubeconfig found/,
  },
];

/** Hostile archives, made once: random bytes, a member that climbs out, a member that inflates to 700 MB. */
let archives = "";
beforeAll(() => {
  archives = newLabDir();
  writeFileSync(join(archives, "corrupt.tar.xz"), randomBytes(5000));
  mkdirSync(join(archives, "in"));
  writeFileSync(join(archives, "in", "f"), "x\n");
  const sh = (script: string): void => {
    const r = spawnSync("/bin/sh", ["-c", script], { cwd: archives, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`);
  };
  sh(`tar -cf climbs.tar --transform 's,^in/f,../../${archives.slice(1)}/escaped,' in/f`);
  const dump = "sosreport-x/sos_commands/openvswitch/ovs-ofctl_-O_OpenFlow15_dump-flows_br-int";
  sh(
    `mkdir -p ${dump.split("/").slice(0, -1).join("/")} && truncate -s 700M ${dump} && tar -cf - sosreport-x | xz -0 -T2 > bomb.tar.xz && rm -rf sosreport-x`,
  );
});

function scratch(): string {
  const d = newLabDir();
  writeFileSync(join(d, "garbage.txt"), "hello\nworld\n");
  writeFileSync(join(d, "cut.db"), 'OVSDB JSON 1000 0123456789abcdef0123456789abcdef01234567\n{"name":');
  mkdirSync(join(d, "sub"));
  symlinkSync("/etc/passwd", join(d, "sub", "link"));
  return d;
}

describe("bad input: one line, its exit status, no stack trace, bounded, nothing written", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const d = scratch();
    const before = readdirSync(d).sort();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...c.args(d)], {
      encoding: "utf8",
      timeout: 30_000,
      env: c.env ?? process.env,
      maxBuffer: 1 << 20,
    });
    expect(r.signal, "ended by itself").toBeNull();
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(r.status, r.stderr).toBe(c.code);
    expect(r.stderr).toMatch(c.says);
    expect(r.stderr).toMatch(/^error: [^\n]+\n/);
    expect(r.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error:")).length).toBe(1);
    expect(readdirSync(d).sort(), "nothing written").toEqual(before);
    expect(readdirSync(archives), "nothing extracted beside the archives").not.toContain("escaped");
    expect(processesUnder(d)).toEqual([]);
  });
});

describe("an API server that accepts and never answers: the command ends, exit 5, within its timeout", () => {
  let server: Server;
  let kubeconfig = "";
  beforeAll(async () => {
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    kubeconfig = join(newLabDir(), "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{ name: c, cluster: { server: 'http://127.0.0.1:" + String(port) + "' } }]",
        "users: [{ name: u, user: { token: t } }]",
        "contexts: [{ name: x, context: { cluster: c, user: u } }]",
        "current-context: x",
      ].join("\n"),
    );
  });
  afterAll(() => {
    server.close();
  });

  it.each([
    ["a trace", ["-src", "a", "-dst", "b", "-tcp"]],
    ["-dump-udn-vrf-table-ids", ["-dump-udn-vrf-table-ids"]],
    ["snapshot collect --cluster", ["snapshot", "collect", "--cluster", "--out", "OUT"]],
  ])("%s", async (_name, args) => {
    const out = join(newLabDir(), "snap");
    const t0 = performance.now();
    const r = await cliAsync([
      ...args.map((a) => (a === "OUT" ? out : a)),
      "--kubeconfig",
      kubeconfig,
      "--timeout",
      "1s",
    ]);
    expect(r.code, r.stderr).toBe(EXIT.unreachable);
    expect(r.stderr).toMatch(/^error: [^\n]+\n/);
    expect(r.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
