import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/exit-codes.js";
import { labDown } from "../../src/lab/lab.js";
import { CLI } from "../helpers/cli.js";
import { newLabDir } from "../helpers/lab.js";

/** The built CLI (`npm test` builds first), run as a user would, with no TTY. */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (s: string): void => {
  expect(s).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/main.js is missing: run `npm run build` (npm test does)");
});

describe("ovnkube-trace CLI", () => {
  it("demo: brings a lab up, shows trace and real packet agreeing on both cases, stops the lab it started", () => {
    const r = cli(["demo"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/trace and real packet agree/g)?.length).toBe(2);
    expect(r.stdout).toMatch(
      /TCP 80[^]*verdict: dropped on ovn-worker2 [^]*NetworkPolicy default\/allow-8080/,
    );
    expect(r.stdout).toMatch(/\nlab stopped \(\d+ daemons\) in \d+ ms\n$/);
    const dir = /starting lab "kind" \(interconnect\) in (\S+)/.exec(r.stderr)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir ?? "/")).toBe(false);
  });

  it("documents every lab command", () => {
    const top = cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/lab/);
    expect(top.stdout).toMatch(/demo/);
    const lab = cli(["lab", "--help"]);
    for (const c of ["up", "status", "env", "probe", "down"])
      expect(lab.stdout).toMatch(new RegExp(`\\n\\s+${c}\\b`));
  });

  it("rejects a bad scenario with the field named, exit 2, no stack trace", () => {
    const file = `${newLabDir()}/bad.yaml`;
    writeFileSync(
      file,
      "name: x\nnodes: [{ name: a }]\npods: [{ namespace: d, name: p, node: b, ips: [10.244.0.3] }]\n",
    );
    const r = cli(["lab", "up", "--scenario", file, "--dir", `${newLabDir()}/lab`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pods\[0\]\.node: unknown node "b"/);
    noStack(r.stderr);
  });

  it("says clearly that a scenario file does not exist", () => {
    const r = cli(["lab", "up", "--scenario", "/nonexistent/s.yaml", "--dir", `${newLabDir()}/lab`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read scenario file \/nonexistent\/s\.yaml: ENOENT/);
  });

  it("names the Debian package when an OVS program is missing", () => {
    const r = cli(["lab", "up", "--dir", `${newLabDir()}/lab`], { ...process.env, PATH: "/nonexistent" });
    expect(r.code).toBe(EXIT.commandFailed);
    expect(r.stderr).toMatch(/ovsdb-tool is not installed/);
    expect(r.stderr).toMatch(/apt-get install -y openvswitch-common/);
    noStack(r.stderr);
  });

  it("reports a missing lab and bad flags with exit codes, not stack traces", () => {
    const dir = `${newLabDir()}/none`;
    const st = cli(["lab", "status", "--dir", dir]);
    expect(st.code).toBe(EXIT.unreachable);
    expect(st.stderr).toMatch(/no lab in .*none/);
    const pr = cli(["lab", "probe", "--dir", dir, "--src", "client", "--dst", "web", "--tcp", "--udp"]);
    expect(pr.code).toBe(2);
    expect(pr.stderr).toMatch(/exactly one of -tcp, -udp, -icmp/);
    const unknown = cli(["lab", "frobnicate"]);
    expect(unknown.code).toBe(2);
  });

  describe("on a running lab (Go-style single-dash flags)", () => {
    let dir = "";
    beforeAll(() => {
      dir = `${newLabDir()}/lab`;
      const up = cli(["lab", "up", "--dir", dir, "--shape", "central", "-o", "json"]);
      expect(up.code, up.stderr).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ started: true, dir });
    });
    afterAll(async () => {
      await labDown(dir);
    });

    it("up again is a no-op", () => {
      const r = cli(["lab", "up", "--dir", dir, "--shape", "central"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/already running in .*; nothing to do/);
    });

    it("status lists nodes and pods", () => {
      const r = cli(["lab", "status", "--dir", dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/ovn-worker2/);
      expect(r.stdout).toMatch(/default\/web\s+ovn-worker2\s+10\.244\.2\.4/);
    });

    it("env gives a shell environment in which OVS/OVN tools reach that node", () => {
      const r = cli(["lab", "env", "ovn-worker", "--dir", dir]);
      expect(r.code).toBe(0);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
      for (const m of r.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1] ?? ""] = m[2];
      const ext = spawnSync("ovs-vsctl", ["get", "open_vswitch", ".", "external_ids:hostname"], {
        env,
        encoding: "utf8",
      });
      expect(ext.stdout.trim()).toBe("ovn-worker");
      const nb = spawnSync(
        "ovn-nbctl",
        ["--bare", "--columns=name", "find", "logical_switch_port", "name=default_web"],
        { env, encoding: "utf8" },
      );
      expect(nb.stdout.trim()).toBe("default_web");
      expect(cli(["lab", "env", "no-such-node", "--dir", dir]).stderr).toMatch(/unknown node "no-such-node"/);
    });

    it("probe takes the Go tool's flags and reports real delivery and drops", () => {
      const ok = cli([
        "lab",
        "probe",
        "-dir",
        dir,
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "8080",
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/delivered to pod default\/web on ovn-worker2/);
      const drop = cli([
        "lab",
        "probe",
        "-dir",
        dir,
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port=80",
        "-o",
        "json",
      ]);
      expect(JSON.parse(drop.stdout)).toMatchObject({ verdict: { kind: "not-delivered" } });
      const bad = cli(["lab", "probe", "-dir", dir, "-src", "nosuchpod", "-dst", "web", "-udp"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/pod default\/nosuchpod not found/);
    });

    it("explain annotates a pasted ofproto/trace exactly as the real ovn-detrace does", () => {
      const r = cli(["lab", "env", "ovn-worker2", "--dir", dir]);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
      for (const m of r.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1] ?? ""] = m[2];
      const iface = spawnSync(
        "ovs-vsctl",
        ["--bare", "--columns=name", "find", "interface", "external_ids:iface-id=default_web"],
        { env, encoding: "utf8" },
      ).stdout.trim();
      const flow = `in_port=${iface},tcp,dl_src=0a:58:0a:f4:02:04,dl_dst=0a:58:0a:f4:02:01,nw_src=10.244.2.4,nw_dst=10.244.1.3,nw_ttl=64,tcp_src=8080,tcp_dst=40000`;
      const trace = spawnSync("ovs-appctl", ["ofproto/trace", "br-int", flow], {
        env,
        encoding: "utf8",
      }).stdout;
      const file = `${newLabDir()}/trace.txt`;
      writeFileSync(file, trace);
      const real = spawnSync(
        "sh",
        ["-c", 'exec ovn-detrace --ovnnb="$OVN_NB_DB" --ovnsb="$OVN_SB_DB" < "$0"', file],
        { env, encoding: "utf8" },
      );
      expect(real.status).toBe(0);
      const ours = cli(["explain", file, "--node", "ovn-worker2", "--lab", dir, "--format", "detrace"]);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout).toMatch(/\* Logical flow: /);
      expect(ours.stdout).toBe(real.stdout);
      // the default output: a summary, then the trace with ovn-detrace's annotations and the decoded values
      const decoded = cli(["explain", file, "--node", "ovn-worker2", "--lab", dir]);
      expect(decoded.code, decoded.stderr).toBe(0);
      expect(decoded.stdout).toMatch(
        /^ofproto\/trace on ovn-worker2:\n {2}in port: +in_port=\d+ = interface \S+ \(port default_web, pod default\/web\)/,
      );
      for (const line of real.stdout.split("\n").filter((l) => l.startsWith("  * ")))
        expect(decoded.stdout).toContain(line);
    });

    it("down stops it", () => {
      const r = cli(["lab", "down", "--dir", dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/stopped 14 daemons/);
      expect(cli(["lab", "status", "--dir", dir]).code).toBe(EXIT.unreachable);
    });
  });
});
