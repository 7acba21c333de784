import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXIT } from "../../src/cli/exit-codes.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, readLabState, type LabState } from "../../src/lab/lab.js";
import type { TraceRun } from "../../src/model/trace-run.js";
import { CLI, cliAsync } from "../helpers/cli.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { TestApiServer } from "../k8s-api/server.js";

/**
 * What makes the CLI feel native to kubectl users, on the built CLI as a user runs it: one JSON/YAML document
 * per run, -n and the kubeconfig context's namespace, completion, the kubectl plugin, colours, durations,
 * IPv6 [addr]:port, and errors that say what to do next.
 */

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env,
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sh(program: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(program, args, {
    env,
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const has = (program: string): boolean => sh("sh", ["-c", `command -v ${program}`]).code === 0;

/** Hops of every report of a run, both directions. */
const hopsOf = (run: TraceRun) => run.reports.flatMap((r) => [...r.forward.hops, ...(r.reply?.hops ?? [])]);

/** A run's document without what differs from one run to the next (durations). */
const stable = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === "durationMs" ? undefined : x)));

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/main.js is missing: run `npm run build` (npm test does)");
});

describe("no cluster configured", () => {
  const NO_KUBECONFIG =
    "error: no kubeconfig found (looked at $KUBECONFIG, ~/.kube/config); pass --kubeconfig, or --lab\n";

  it("says so in one line with what to do, exit 5, instead of the client's http://localhost:8080", () => {
    const home = newLabDir();
    const trace = join(newLabDir(), "trace.txt");
    writeFileSync(
      trace,
      'Flow: in_port=1,tcp\n\nbridge("br-int")\n----------------\n 0. priority 0\n    drop\n\nFinal flow: unchanged\nMegaflow: recirc_id=0,in_port=1\nDatapath actions: drop\n',
    );
    const envs: NodeJS.ProcessEnv[] = [
      { PATH: process.env.PATH, HOME: home },
      { PATH: process.env.PATH, HOME: home, KUBECONFIG: `${home}/nope:${home}/nope2` },
    ];
    for (const env of envs)
      for (const args of [
        ["-src", "client", "-dst", "web", "-tcp"],
        ["explain", trace, "--node", "ovn-worker"],
        ["snapshot", "collect", "--cluster", "--out", join(newLabDir(), "snap")],
      ]) {
        const r = cli(args, env);
        expect(r.stderr, args.join(" ")).toBe(NO_KUBECONFIG);
        expect(r.code).toBe(EXIT.unreachable);
        expect(r.stdout).toBe("");
      }
    // with a kubeconfig in the usual place, it is read (and its server is what fails, not the search)
    mkdirSync(join(home, ".kube"));
    writeFileSync(
      join(home, ".kube", "config"),
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    const r = cli(["-src", "client", "-dst", "web", "-tcp", "--timeout", "2s"], {
      PATH: process.env.PATH,
      HOME: home,
    });
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.stderr).toMatch(/cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:1/);
  });
});

describe("the executable", () => {
  it("dist/cli/main.js is executable (the build sets it), and both bins name it", () => {
    expect(statSync(CLI).mode & 0o111).toBe(0o111);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({
      "ovnkube-trace": "dist/cli/main.js",
      "kubectl-ovnkube_trace": "dist/cli/main.js",
    });
    // run as a program (its #! line and mode), not through node
    const direct = sh(CLI, ["--version"]);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("works as a kubectl plugin: `kubectl ovnkube-trace`, and calls itself that in its help", () => {
    const bin = newLabDir();
    symlinkSync(CLI, join(bin, "kubectl-ovnkube_trace"));
    const help = sh(join(bin, "kubectl-ovnkube_trace"), ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kubectl ovnkube-trace \[options\] \[command\]/);
    expect(help.stdout).toContain("kubectl ovnkube-trace -src client -dst web");
    expect(cli(["--help"]).stdout).toMatch(/^Usage: ovnkube-trace \[options\] \[command\]/);
    if (!has("kubectl")) return; // the plugin mechanism itself needs kubectl
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: newLabDir() };
    const v = sh("kubectl", ["ovnkube-trace", "--version"], env);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toBe(cli(["--version"]).stdout);
    const list = sh("kubectl", ["plugin", "list"], env);
    expect(list.stdout).toContain(join(bin, "kubectl-ovnkube_trace"));
  });
});

describe("completion", () => {
  /** What bash completes after `words` (the last one is being typed). */
  const complete = (script: string, words: readonly string[]): string[] => {
    const file = join(newLabDir(), "c.bash");
    writeFileSync(file, script);
    const quoted = words.map((w) => `'${w}'`).join(" ");
    const r = sh("bash", [
      "-c",
      `source ${file}; COMP_WORDS=(${quoted}); COMP_CWORD=${String(words.length - 1)}; _ovnkube_trace; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ]);
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter((l) => l !== "");
  };

  it("bash: subcommands, their subcommands, flags (--long and Go's -long), and fixed values", () => {
    const r = cli(["completion", "bash"]);
    expect(r.code).toBe(0);
    const s = r.stdout;
    expect(sh("bash", ["-n", "-c", s]).code).toBe(0);
    expect(complete(s, ["ovnkube-trace", ""])).toEqual([
      "lab",
      "demo",
      "parse",
      "explain",
      "matrix",
      "what-if",
      "snapshot",
      "completion",
    ]);
    expect(complete(s, ["ovnkube-trace", "sn"])).toEqual(["snapshot"]);
    expect(complete(s, ["ovnkube-trace", "lab", ""])).toEqual(["up", "status", "env", "probe", "down"]);
    expect(complete(s, ["ovnkube-trace", "snapshot", "collect", "--ti"])).toEqual(["--timeout"]);
    expect(complete(s, ["ovnkube-trace", "--src", "client", "--nam"])).toEqual(["--namespace"]);
    expect(complete(s, ["ovnkube-trace", "-src", "client", "-dst-"])).toEqual([
      "-dst-ip",
      "-dst-namespace",
      "-dst-port",
    ]);
    expect(complete(s, ["ovnkube-trace", "--lab", "/tmp/x", "-src", "c", "-o", ""])).toEqual([
      "text",
      "json",
      "yaml",
      "html",
    ]);
    // each command's own: the trace and explain draw html, the lab's commands do not
    expect(complete(s, ["ovnkube-trace", "explain", "f", "--output", "h"])).toEqual(["html"]);
    expect(complete(s, ["ovnkube-trace", "lab", "status", "-o", ""])).toEqual(["text", "json", "yaml"]);
    expect(complete(s, ["ovnkube-trace", "lab", "up", "--shape", ""])).toEqual(["central", "interconnect"]);
    expect(complete(s, ["ovnkube-trace", "completion", ""])).toEqual(["bash", "zsh", "fish"]);
    expect(complete(s, ["ovnkube-trace", "--include"])).toEqual(["--include-raw"]);
    expect(complete(s, ["ovnkube-trace", "lab", "status", "--"])).toEqual(["--output", "--dir", "--help"]);
    expect(s).toMatch(/complete -o default -F _ovnkube_trace ovnkube-trace kubectl-ovnkube_trace\n$/);
  });

  it("zsh and fish: scripts for the same tree that their shells accept", () => {
    const zsh = cli(["completion", "zsh"]);
    const fish = cli(["completion", "fish"]);
    expect(zsh.code).toBe(0);
    expect(fish.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef ovnkube-trace kubectl-ovnkube_trace\n/);
    expect(zsh.stdout).toContain('("lab probe") subs=(); flags=(--src --src-ip --src-node --dst');
    expect(fish.stdout).toContain(
      "complete -c ovnkube-trace -n '__ovnkube_trace_at \\'lab\\'' -f -a 'probe'",
    );
    expect(fish.stdout).toContain("-l include-raw");
    // scripts/install-deps.sh installs both shells: their absence is a failure, not a skip
    expect(has("zsh") && has("fish"), "zsh and fish (scripts/install-deps.sh installs them)").toBe(true);
    {
      const file = join(newLabDir(), "c.zsh");
      writeFileSync(file, zsh.stdout);
      expect(sh("zsh", ["-n", file]).code).toBe(0);
      // the function itself, with compadd standing in for zsh's completion system
      const r = sh("zsh", [
        "-c",
        `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -r -- "$*"; }; source ${file}; words=(ovnkube-trace lab ''); CURRENT=3; _ovnkube_trace`,
      ]);
      expect(r.stdout).toBe("up status env probe down\n");
    }
    {
      const file = join(newLabDir(), "c.fish");
      writeFileSync(file, fish.stdout);
      const r = sh("fish", ["-c", `source ${file}; complete -C 'ovnkube-trace lab '`]);
      expect(r.code, r.stderr).toBe(0);
      expect(
        r.stdout
          .split("\n")
          .map((l) => l.split("\t")[0])
          .filter((l) => l !== "")
          .sort(),
      ).toEqual(["down", "env", "probe", "status", "up"]);
    }
    const bad = cli(["completion", "tcsh"]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/Allowed choices are bash, zsh, fish/);
  });
});

describe("on a dual-stack lab", () => {
  let dir = "";
  /** The -dst-port 80 (dropped) trace as the CLI printed it with --include-raw, for explain. */
  let dropped: TraceRun;
  beforeAll(() => {
    dir = join(newLabDir(), "lab");
    const up = cli([
      "lab",
      "up",
      "--dir",
      dir,
      "--scenario",
      `${EXAMPLES_DIR}kind-dualstack.yaml`,
      "-o",
      "yaml",
    ]);
    expect(up.code, up.stderr).toBe(0);
    expect(parse(up.stdout)).toMatchObject({ schemaVersion: "1.0", kind: "LabUp", started: true, dir });
    const r = cli([
      "--lab",
      dir,
      "-src",
      "client",
      "-dst",
      "web",
      "-tcp",
      "-dst-port",
      "80",
      "-o",
      "json",
      "--include-raw",
    ]);
    expect(r.stderr).toMatch(/^failure: ovn-trace \(forward\): /);
    expect(r.code).toBe(EXIT.traceFailure);
    dropped = JSON.parse(r.stdout) as TraceRun;
  });
  afterAll(async () => {
    await labDown(dir);
  });

  const trace = (args: readonly string[], env?: NodeJS.ProcessEnv): Result =>
    cli(["--lab", dir, "-skip-detrace", ...args], env);

  it("lab status and probe: schemaVersion and kind in JSON and YAML", () => {
    for (const o of ["json", "yaml"]) {
      const read = (s: string): unknown => (o === "json" ? JSON.parse(s) : parse(s));
      const status = cli(["lab", "status", "--dir", dir, "-o", o]);
      expect(status.code, status.stderr).toBe(0);
      expect(read(status.stdout)).toMatchObject({
        schemaVersion: "1.0",
        kind: "LabStatus",
        phase: "up",
        deadDaemons: [],
      });
      const probe = cli([
        "lab",
        "probe",
        "--dir",
        dir,
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "8080",
        "-o",
        o,
      ]);
      expect(probe.code, probe.stderr).toBe(0);
      expect(read(probe.stdout)).toMatchObject({
        schemaVersion: "1.0",
        kind: "LabProbe",
        verdict: { kind: "delivered", pod: "web" },
      });
    }
    expect(
      Object.keys(JSON.parse(cli(["lab", "status", "--dir", dir, "-o", "json"]).stdout) as object).slice(
        0,
        2,
      ),
    ).toEqual(["schemaVersion", "kind"]);
    const bad = cli(["lab", "status", "--dir", dir, "-o", "xml"]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toBe('error: -o must be text, json or yaml, not "xml"\n');
  });

  it("lab probe over IPv6 prints [addr]:port, IPv4 addr:port", () => {
    const v6 = cli([
      "lab",
      "probe",
      "--dir",
      dir,
      "-src",
      "client",
      "-dst",
      "web",
      "-tcp",
      "-dst-port",
      "8080",
      "-addr-family",
      "ip6",
      "--src-port",
      "40001",
    ]);
    expect(v6.code, v6.stderr).toBe(0);
    expect(v6.stdout).toMatch(
      /^probe TCP \[fd00:10:244:1::3\]:40001 -> \[fd00:10:244:2::4\]:8080 injected on ovn-worker /,
    );
    expect(v6.stdout).toMatch(
      /delivered to pod default\/web on ovn-worker2: \[fd00:10:244:1::3\]:40001 -> \[fd00:10:244:2::4\]:8080, ttl/,
    );
    const v4 = cli([
      "lab",
      "probe",
      "--dir",
      dir,
      "-src",
      "client",
      "-dst",
      "web",
      "-tcp",
      "-dst-port",
      "8080",
      "--src-port",
      "40002",
    ]);
    expect(v4.stdout).toMatch(/^probe TCP 10\.244\.1\.3:40002 -> 10\.244\.2\.4:8080 injected/);
    const icmp = cli([
      "lab",
      "probe",
      "--dir",
      dir,
      "-src",
      "client",
      "-dst",
      "web",
      "-icmp",
      "-addr-family",
      "ip6",
    ]);
    expect(icmp.stdout).toMatch(/^probe ICMP fd00:10:244:1::3 -> fd00:10:244:2::4 injected/);
  });

  it("-n is the namespace of both ends; -src-namespace, -dst-namespace and NS/NAME say otherwise", () => {
    const svc = ["-service", "kube-dns", "-udp", "-dst-port", "53", "-o", "json"];
    const both = trace(["-n", "kube-system", "-src", "default/client", ...svc]);
    expect(both.code, both.stderr).toBe(0);
    const run = JSON.parse(both.stdout) as TraceRun;
    expect(run.reports[0]?.dst).toMatchObject({
      kind: "service",
      namespace: "kube-system",
      name: "kube-dns",
    });
    expect(run.reports[0]?.src).toMatchObject({ namespace: "default", name: "client" });
    const wrong = trace(["-n", "kube-system", "-src", "client", ...svc]);
    expect(wrong.code).toBe(EXIT.notFound);
    expect(wrong.stderr).toMatch(/pod "client" not found in namespace "kube-system"/);
    const split = trace(["-namespace", "kube-system", "-src-namespace", "default", "-src", "client", ...svc]);
    expect(split.code, split.stderr).toBe(0);
    const dst = trace([
      "--namespace",
      "kube-system",
      "--dst-namespace",
      "default",
      "-src",
      "default/client",
      "-dst",
      "web",
      "-tcp",
      "-dst-port",
      "8080",
      "-o",
      "json",
    ]);
    expect(dst.code, dst.stderr).toBe(0);
    expect((JSON.parse(dst.stdout) as TraceRun).reports[0]?.dst).toMatchObject({
      namespace: "default",
      name: "web",
    });
    // no flag: "default" (the lab has no kubeconfig context)
    expect(trace(["-src", "client", ...svc]).stderr).toMatch(/service "kube-dns" not found/);
  });

  it("-o json is one compact document; --include-raw and -loglevel 2 keep the tools' outputs; -o yaml is the same", () => {
    const args = ["-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080"];
    const compact = trace([...args, "-o", "json"]);
    const raw = trace([...args, "-o", "json", "--include-raw"]);
    const loud = trace([...args, "-o", "json", "-loglevel", "2"]);
    const yaml = trace([...args, "-o", "yaml"]);
    for (const r of [compact, raw, loud, yaml]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
    }
    const c = JSON.parse(compact.stdout) as TraceRun;
    const w = JSON.parse(raw.stdout) as TraceRun;
    expect(c).toMatchObject({ schemaVersion: "1.0", kind: "TraceRun", rawOutputs: false });
    expect(w.rawOutputs).toBe(true);
    expect((JSON.parse(loud.stdout) as TraceRun).rawOutputs).toBe(true);
    expect(hopsOf(c).length).toBeGreaterThan(3);
    for (const h of hopsOf(c)) expect(h.output).toBeUndefined();
    for (const h of hopsOf(w)) expect(h.output).toMatch(/\S/);
    expect(compact.stdout.length).toBeLessThan(raw.stdout.length * 0.8);
    // the same run otherwise
    const strip = (run: TraceRun): unknown =>
      stable({
        ...run,
        rawOutputs: false,
        reports: run.reports.map((r) => ({
          ...r,
          forward: { ...r.forward, hops: r.forward.hops.map((h) => ({ ...h, output: undefined })) },
          ...(r.reply === undefined
            ? {}
            : { reply: { ...r.reply, hops: r.reply.hops.map((h) => ({ ...h, output: undefined })) } }),
        })),
      });
    expect(strip(w)).toEqual(stable(c));
    expect(stable(parse(yaml.stdout))).toEqual(stable(c));
    expect(yaml.stdout).toMatch(/^schemaVersion: "1\.0"\nkind: TraceRun\n/);
  });

  it("`-o json | head -c 100` exits 0 with nothing on stderr (compact and with the raw outputs)", () => {
    for (const extra of [[], ["--include-raw"]]) {
      const err = join(newLabDir(), "stderr");
      const r = sh(
        "bash",
        [
          "-c",
          'set -o pipefail; "$0" "$@" 2>"$ERR" | head -c 100',
          process.execPath,
          CLI,
          "--lab",
          dir,
          "-src",
          "client",
          "-dst",
          "web",
          "-tcp",
          "-dst-port",
          "8080",
          "-o",
          "json",
          ...extra,
        ],
        { ...process.env, ERR: err },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(r.stdout.slice(0, 100));
      expect(r.stdout.length).toBe(100);
      expect(r.stdout).toMatch(/^\{\n {2}"schemaVersion": "1\.0",\n {2}"kind": "TraceRun"/);
      expect(readFileSync(err, "utf8")).toBe("");
    }
  });

  it("colours on a terminal only: never with NO_COLOR or --no-color", () => {
    if (!has("script")) throw new Error("this test needs script(1) (util-linux) for a terminal");
    /** What the trace prints on a terminal (script(1)'s pseudo-terminal), or why there is nothing. */
    const onTty = (extra: string, env: NodeJS.ProcessEnv): string => {
      const r = sh(
        "script",
        [
          "-qec",
          `${process.execPath} ${CLI} --lab ${dir} -skip-detrace -src client -dst web -tcp -dst-port 8080 ${extra}`,
          "/dev/null",
        ],
        env,
      );
      return r.stdout === "" ? `(nothing printed: exit ${String(r.code)}, stderr ${r.stderr})` : r.stdout;
    };
    /** The green of a success line (the Go tool's colours). */
    const green = "\u001b[32m";
    const env = { ...process.env };
    delete env.NO_COLOR;
    const coloured = onTty("", env);
    expect(coloured).toContain(`${green}\u001b[1movn-trace source pod to destination pod indicates success`);
    expect(onTty("", { ...env, NO_COLOR: "" })).toContain(green);
    for (const [how, plain] of [
      ["NO_COLOR=1", onTty("", { ...env, NO_COLOR: "1" })],
      ["--no-color", onTty("--no-color", env)],
      // and never on a pipe
      ["a pipe", trace(["-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080"], env).stdout],
    ] as const) {
      expect(plain, how).toContain(
        "ovn-trace source pod to destination pod indicates success from client to web",
      );
      expect(plain, how).not.toContain("\u001b[");
    }
  });

  it("--timeout takes durations (30s, 1m30s, 500ms; a number is milliseconds) and says which forms when it cannot", () => {
    for (const t of ["1m30s", "45s", "90000"])
      expect(trace(["-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080", "--timeout", t]).code).toBe(
        0,
      );
    const bad = trace(["-src", "client", "-dst", "web", "-tcp", "--timeout", "30 seconds"]);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toBe(
      'error: --timeout must be a duration (30s, 1m, 500ms; a plain number is milliseconds), not "30 seconds"\n',
    );
    expect(
      cli(["snapshot", "collect", "--lab", dir, "--out", join(newLabDir(), "s"), "--timeout", "5x"]).stderr,
    ).toMatch(/--timeout must be a duration/);
  });

  it("snapshot collect and show, parse and explain: schemaVersion and kind on every document", () => {
    const snap = join(newLabDir(), "snap");
    const collect = cli([
      "snapshot",
      "collect",
      "--lab",
      dir,
      "--out",
      snap,
      "--timeout",
      "2m",
      "-o",
      "json",
    ]);
    expect(collect.code, collect.stderr).toBe(0);
    expect(JSON.parse(collect.stdout)).toMatchObject({
      schemaVersion: "1.0",
      kind: "SnapshotManifest",
      format: expect.any(String) as unknown,
      shape: "interconnect",
    });
    const show = cli(["snapshot", "show", snap, "-o", "yaml"]);
    expect(show.code, show.stderr).toBe(0);
    expect(parse(show.stdout)).toMatchObject({ schemaVersion: "1.0", kind: "SnapshotShow", replica: null });

    const hop = dropped.reports[0]?.forward.hops.find(
      (h) => h.tool === "ofproto/trace" && h.node === "ovn-worker2",
    );
    const file = join(newLabDir(), "trace.txt");
    writeFileSync(file, hop?.output ?? "");
    const parsed = cli(["parse", file, "-o", "yaml"]);
    expect(parsed.code, parsed.stderr).toBe(0);
    expect(parse(parsed.stdout)).toMatchObject({ schemaVersion: "1.0", kind: "ofproto-trace" });
    const explained = cli(["explain", file, "--node", "ovn-worker2", "--lab", dir, "-o", "json"]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(JSON.parse(explained.stdout)).toMatchObject({
      schemaVersion: "1.0",
      kind: "Explanation",
      node: "ovn-worker2",
      missing: [],
      summary: { verdict: { kind: "dropped" } },
    });
    // with every database read, no value is left to excuse
    const text = cli(["explain", file, "--node", "ovn-worker2", "--lab", dir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/could not name/);
  });

  describe("through the Kubernetes API", () => {
    let state: LabState;
    let server: TestApiServer;
    let broken: TestApiServer;
    /** Kubeconfigs whose current context is `lab` (namespace default) or `other` (namespace kube-system). */
    let kcLab = "";
    let kcOther = "";
    beforeAll(async () => {
      const s = readLabState(dir);
      if (s === undefined) throw new Error(`no lab in ${dir}`);
      state = s;
      server = await serveLab(state);
      broken = await serveLab(state, { failNode: "ovn-worker2" });
      kcLab = server.writeKubeconfig(newLabDir(), "lab");
      kcOther = server.writeKubeconfig(newLabDir(), "other");
    });
    afterAll(async () => {
      await server.close();
      await broken.close();
    });

    const api = (kc: string, args: readonly string[]) =>
      cliAsync(["-kubeconfig", kc, "-skip-detrace", ...args]);
    const dns = ["-service", "kube-dns", "-udp", "-dst-port", "53", "-o", "json"];

    it("a name without a namespace is in the kubeconfig context's namespace; --context's with --context; -n wins", async () => {
      // current context `other`: namespace kube-system, for both ends
      const viaCurrent = await api(kcOther, ["-src", "default/client", ...dns]);
      expect(viaCurrent.code, viaCurrent.stderr).toBe(0);
      expect((JSON.parse(viaCurrent.stdout) as TraceRun).reports[0]?.dst).toMatchObject({
        namespace: "kube-system",
        name: "kube-dns",
      });
      const src = await api(kcOther, ["-src", "client", "-dst", "web", "-tcp"]);
      expect(src.code).toBe(EXIT.notFound);
      expect(src.stderr).toMatch(/pod "client" not found in namespace "kube-system"/);
      // current context `lab` (namespace default), --context other: other's namespace
      const viaFlag = await api(kcLab, ["--context", "other", "-src", "default/client", ...dns]);
      expect(viaFlag.code, viaFlag.stderr).toBe(0);
      expect(
        server.requests.some(
          (q) => q.context === "other" && q.path.endsWith("/namespaces/kube-system/services/kube-dns"),
        ),
      ).toBe(true);
      const inLab = await api(kcLab, ["-src", "client", ...dns]);
      expect(inLab.code).toBe(EXIT.notFound);
      expect(inLab.stderr).toMatch(/service "kube-dns" not found/);
      // -n over the context's
      const n = await api(kcOther, [
        "-n",
        "default",
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "8080",
        "-o",
        "json",
      ]);
      expect(n.code, n.stderr).toBe(0);
      expect((JSON.parse(n.stdout) as TraceRun).reports[0]?.forward.verdict.kind).toBe("delivered");
    });

    it("counts what it asked of the nodes: one read of each node's OVS, one of each zone's databases, then one exec per tool run; -loglevel 5 lists them", async () => {
      const before = server.requests.filter((q) => q.ws).length;
      const r = await cliAsync([
        "-kubeconfig",
        kcLab,
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "8080",
        "-o",
        "json",
        "-loglevel",
        "5",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as TraceRun;
      // what the API server saw is what the document says
      expect(doc.commands?.execs).toBe(server.requests.filter((q) => q.ws).length - before);
      expect(doc.commands?.daemonTraces).toBe(0);
      const list = doc.commands?.list ?? [];
      const nodes = new Set(doc.reports.flatMap((x) => [x.forward.hops[0]?.node, x.reply?.hops[0]?.node]));
      nodes.delete(undefined);
      const reads = (what: RegExp) => list.filter((c) => what.test(c.argv.join(" ")));
      expect(
        reads(/dpif\/show/)
          .map((c) => c.node)
          .sort(),
      ).toEqual([...nodes].sort());
      expect(
        reads(/ovsdb-client backup/)
          .map((c) => c.node)
          .sort(),
      ).toEqual([...nodes].sort());
      const hops = doc.reports.flatMap((x) => [...x.forward.hops, ...(x.reply?.hops ?? [])]);
      expect(list.length).toBe(2 * nodes.size + hops.length);
      expect(r.stderr).toContain(
        `commands on nodes: ${String(list.length)} exec(s), 0 ovn-trace daemon answer(s)`,
      );
    });

    it("--timeout 1s bounds an exec that hangs", async () => {
      const hanging = await serveLab(state, { execDelayMs: 60_000 });
      try {
        const t = performance.now();
        const r = await api(hanging.writeKubeconfig(newLabDir()), [
          "-src",
          "client",
          "-dst",
          "web",
          "-tcp",
          "--timeout",
          "1s",
        ]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/timed out after 1\d\d\d ms/);
        expect(performance.now() - t).toBeLessThan(15_000);
      } finally {
        await hanging.close();
      }
    });

    it("explain without any readable database: which values it could not name and why, and exit 1", async () => {
      const hop = dropped.reports[0]?.forward.hops.find(
        (h) => h.tool === "ofproto/trace" && h.node === "ovn-worker2",
      );
      const file = join(newLabDir(), "trace.txt");
      writeFileSync(file, hop?.output ?? "");
      const kc = broken.writeKubeconfig(newLabDir());
      const r = await cliAsync(["explain", file, "--node", "ovn-worker2", "-kubeconfig", kc]);
      expect(r.code).toBe(EXIT.traceFailure);
      expect(r.stderr).toMatch(
        /^failure: named none of the \d+ values of the trace: could not read the northbound database of ovn-worker2's zone, the southbound database of ovn-worker2's zone, the Open_vSwitch database of ovn-worker2\n$/,
      );
      expect(r.stdout).toMatch(/^ {2}note: could not read the northbound database of ovn-worker2's zone: /m);
      expect(r.stdout).toMatch(
        /^ {2}note: could not name tun_src=172\.18\.0\.\d+, .*: no southbound database$/m,
      );
      expect(r.stdout).toMatch(
        /^ {2}note: could not name in_port=\d+.*: the node's OVS database was not read$/m,
      );
      // the same trace on a node that answers: named, exit 0, nothing to excuse
      const good = await cliAsync(["explain", file, "--node", "ovn-worker2", "-kubeconfig", kcLab]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).not.toMatch(/could not name/);
      expect(good.stdout).toMatch(/NetworkPolicy default\/allow-8080/);
    });
  });
});
