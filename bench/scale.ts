/**
 * The lab at scale (issue 14, "Fast at any size"): how long `lab up` takes for big generated clusters, how much
 * memory it needs, how long one full trace through the CLI takes on it, how big its databases are; and a
 * snapshot whose SB is at least 100 MB: its generation, `snapshot start` and a trace on it, against the same on
 * the 3-node example.
 *
 *   npx tsx bench/scale.ts [--quick | --snapshots]     (needs `npm run build`: the traces run dist/cli/main.js)
 *
 * --quick does the 25-node lab only, --snapshots the two snapshots only. A lab the machine cannot hold (src/lab/budget.ts: a central cluster's nodes
 * each hold every node switch's load balancers) is reported as skipped with the memory it would need, not
 * started. Everything lives under a temporary directory of /tmp, labs are brought down and replicas stopped by
 * pid, also when a step fails.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { LabBackend } from "../src/backends/lab/backend.js";
import { availableMemoryMib, estimateMemoryMib, flowsPerNode } from "../src/lab/budget.js";
import { resolveScenario, type LabCluster } from "../src/lab/cluster.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../src/lab/lab.js";
import { labLayout, zones } from "../src/lab/layout.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import { crossNodePair, scaleScenario, type ScaleOptions } from "../src/lab/scale-scenario.js";
import type { Scenario } from "../src/lab/scenario.js";
import { collectFromBackend } from "../src/snapshot/collect.js";
import { stopReplica } from "../src/snapshot/replica.js";
import { median } from "./ovsdb-load.js";

const CLI = new URL("../dist/cli/main.js", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** One lab size of the benchmark. */
export interface ScaleCase {
  readonly title: string;
  readonly options: ScaleOptions;
}

export const SCALE_CASES: readonly ScaleCase[] = [
  { title: "25-node central", options: { nodes: 25, pods: 1000, services: 300, policies: 150 } },
  { title: "50-node central", options: { nodes: 50, pods: 2000, services: 500, policies: 300 } },
  {
    title: "100-node interconnect",
    options: { nodes: 100, pods: 2000, services: 200, policies: 100, shape: "interconnect" },
  },
];

/** The lab whose SB is ≥ 100 MB: two central nodes and tens of thousands of Services (~3 kB of SB each). */
export const BIG_SB: ScaleOptions = { nodes: 2, pods: 500, services: 36_000, policies: 400 };

export interface DaemonMemory {
  readonly count: number;
  /** Sum of the daemons' peak resident memory (VmHWM). */
  readonly peakMib: number;
  readonly maxPeakMib: number;
}

export interface LabFigures {
  readonly title: string;
  readonly nodes: number;
  readonly pods: number;
  readonly services: number;
  readonly policies: number;
  readonly shape: string;
  /** The estimate lab up checks against MemAvailable (src/lab/budget.ts). */
  readonly estimatedMib: number;
  readonly estimatedFlowsPerNode: number;
  /** Set when the lab was not started (does not fit) or failed: why. */
  readonly skipped?: string;
  readonly upMs?: number;
  readonly stepsMs?: Record<string, number>;
  /** Highest sum of the daemons' resident memory seen while it came up and traced (sampled every 0.5 s). */
  readonly peakDaemonsMib?: number;
  /** Per kind of daemon (ovsdb-server, ovs-vswitchd, ovn-controller, northd, nb, sb). */
  readonly daemons?: Record<string, DaemonMemory>;
  /** This process's peak resident memory so far. */
  readonly peakSelfMib?: number;
  readonly flowsOnTraceNode?: number;
  readonly nbBytes?: number;
  readonly sbBytes?: number;
  readonly trace?: TraceFigures;
  readonly matrix?: MatrixFigures;
}

/** A matrix between two namespaces with the CLI: its size and speed. */
export interface MatrixFigures {
  readonly from: string;
  readonly to: string;
  readonly cells: number;
  readonly elapsedMs: number;
  readonly cellsPerSecond: number;
}

export interface TraceFigures {
  readonly argv: readonly string[];
  readonly ms: readonly number[];
  readonly exitCode: number;
  readonly verdict: string;
}

export interface SnapshotFigures {
  readonly title: string;
  readonly skipped?: string;
  readonly labUpMs?: number;
  readonly collectMs?: number;
  readonly sbBytes?: number;
  readonly nbBytes?: number;
  readonly snapshotBytes?: number;
  readonly startMs?: number;
  readonly trace?: TraceFigures;
}

/** Issue 14's target: a trace on the >= 100 MB SB snapshot within 3x the time of one on the 3-node snapshot. */
export interface SnapshotRatio {
  readonly smallMs: number;
  readonly bigMs: number;
  readonly ratio: number;
}

export interface ScaleFigures {
  readonly labs: readonly LabFigures[];
  readonly snapshots: readonly SnapshotFigures[];
  readonly snapshotRatio?: SnapshotRatio;
}

/** The median trace times of the two snapshots, when both traced. */
function snapshotRatio(small: SnapshotFigures, big: SnapshotFigures): SnapshotRatio | undefined {
  if (small.trace === undefined || big.trace === undefined) return undefined;
  const [smallMs, bigMs] = [median(small.trace.ms), median(big.trace.ms)];
  return { smallMs, bigMs, ratio: bigMs / smallMs };
}

function log(progress: ((line: string) => void) | undefined, line: string): void {
  progress?.(line);
}

/** VmHWM / VmRSS of a process in MiB (0 once it is gone). */
function procMib(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
      readFileSync(`/proc/${String(pid)}/status`, "utf8"),
    );
    return m?.[1] === undefined ? 0 : Number(m[1]) / 1024;
  } catch {
    return 0;
  }
}

/** Samples the summed resident memory of a lab's daemons (read from its state file) until stopped. */
function sampleMemory(dir: string): { stop: () => number } {
  let peak = 0;
  const sample = (): void => {
    try {
      const s = JSON.parse(readFileSync(labLayout(dir).stateFile, "utf8")) as LabState;
      peak = Math.max(
        peak,
        s.daemons.reduce((n, d) => n + procMib(d.pid, "VmRSS"), 0),
      );
    } catch {
      // not written yet, or being rewritten
    }
  };
  const timer = setInterval(sample, 500);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return Math.round(peak);
    },
  };
}

function daemonMemory(s: LabState): Record<string, DaemonMemory> {
  const out: Record<string, { count: number; peakMib: number; maxPeakMib: number }> = {};
  for (const d of s.daemons) {
    const hwm = procMib(d.pid, "VmHWM");
    const e = (out[d.role] ??= { count: 0, peakMib: 0, maxPeakMib: 0 });
    e.count++;
    e.peakMib += hwm;
    e.maxPeakMib = Math.max(e.maxPeakMib, hwm);
  }
  for (const e of Object.values(out)) {
    e.peakMib = Math.round(e.peakMib);
    e.maxPeakMib = Math.round(e.maxPeakMib);
  }
  return out;
}

/** Runs the CLI `runs` times; the verdict is its `verdict (source pod to destination pod)` line. */
function cliTrace(args: readonly string[], runs: number): TraceFigures {
  const ms: number[] = [];
  let exitCode = 0;
  let verdict = "";
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", maxBuffer: 256 * MIB });
    ms.push(Math.round(performance.now() - t0));
    exitCode = r.status ?? 1;
    verdict =
      /^verdict \(source pod to destination pod\): (.*)$/m.exec(r.stdout)?.[1] ??
      r.stderr.trim().split("\n").at(-1) ??
      "";
  }
  return { argv: ["ovnkube-trace", ...args], ms, exitCode, verdict };
}

/** The two namespaces with the fewest pods (but some): a matrix of some thousand cells. */
function cliMatrix(dir: string, s: Scenario): MatrixFigures | undefined {
  const counts = new Map<string, number>();
  for (const p of s.pods ?? [])
    if (p.hostNetwork !== true) counts.set(p.namespace, (counts.get(p.namespace) ?? 0) + 1);
  const small = [...counts].filter(([, n]) => n >= 10).sort((a, b) => a[1] - b[1]);
  const [from, to] = [small[0]?.[0], small[1]?.[0]];
  if (from === undefined || to === undefined) return undefined;
  const args = [
    "matrix",
    "--lab",
    dir,
    "--from-namespace",
    from,
    "--to-namespace",
    to,
    "--port",
    "tcp/80",
    "-o",
    "json",
  ];
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", maxBuffer: 256 * MIB });
  if (r.status !== 0) return undefined;
  const stats = (
    JSON.parse(r.stdout) as { stats: { cells: number; elapsedMs: number; cellsPerSecond: number } }
  ).stats;
  return { from, to, ...stats };
}

/** The trace flags of a generated scenario's cross-node pod pair with no policy in between. */
function pairArgs(s: Scenario): string[] {
  const pair = crossNodePair(s);
  if (pair === undefined) throw new Error(`scenario ${s.name} has no cross-node pod pair`);
  return [
    "--src",
    `${pair.src.namespace}/${pair.src.name}`,
    "--dst",
    `${pair.dst.namespace}/${pair.dst.name}`,
    "--tcp",
    "--dst-port",
    String(pair.port),
  ];
}

/** Bytes of each zone's NB and SB file: the central one, or the largest zone's of an interconnect lab. */
function dbBytes(s: LabState): { nb: number; sb: number } {
  const l = labLayout(s.dir);
  const size = (f: string): number => (existsSync(f) ? statSync(f).size : 0);
  let nb = 0;
  let sb = 0;
  for (const z of zones(s.cluster)) {
    nb = Math.max(nb, size(join(l.zone(z.zone, "nb"), "ovnnb_db.db")));
    sb = Math.max(sb, size(join(l.zone(z.zone, "sb"), "ovnsb_db.db")));
  }
  return { nb, sb };
}

function flowCount(s: LabState, node: string): number {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(OVS|OVN)_/.test(k)) Reflect.deleteProperty(env, k);
  const dir = labLayout(s.dir).node(node);
  const r = spawnSync("ovs-ofctl", ["--no-stats", "dump-flows", "br-int"], {
    encoding: "utf8",
    env: { ...env, OVS_RUNDIR: dir },
    maxBuffer: 1024 * MIB,
  });
  return r.stdout.split("\n").filter((l) => l.includes("actions=")).length;
}

function sizes(c: LabCluster): Pick<LabFigures, "nodes" | "pods" | "services" | "policies" | "shape"> {
  return {
    nodes: c.nodes.length,
    pods: c.pods.length,
    services: c.services.length,
    policies: c.networkPolicies.length,
    shape: c.shape,
  };
}

/** One lab size: up, memory, one trace through the CLI (twice: the first also starts ovn-trace), down. */
export async function benchLab(
  root: string,
  k: ScaleCase,
  progress?: (line: string) => void,
): Promise<LabFigures> {
  const scenario = scaleScenario(k.options);
  const c = resolveScenario(scenario);
  const base = {
    title: k.title,
    ...sizes(c),
    estimatedMib: estimateMemoryMib(c),
    estimatedFlowsPerNode: Math.round(flowsPerNode(c)),
  };
  const available = availableMemoryMib();
  if (available !== undefined && base.estimatedMib > available)
    return {
      ...base,
      skipped: `needs ~${String(base.estimatedMib)} MiB, ${String(available)} MiB available`,
    };
  // short: unix socket paths in it are limited to ~100 bytes
  const dir = join(root, `l${String(c.nodes.length)}${c.shape.slice(0, 1)}`);
  const memory = sampleMemory(dir);
  log(progress, `${k.title}: lab up (${String(c.nodes.length)} nodes, ~${String(base.estimatedMib)} MiB)`);
  const t0 = performance.now();
  let state: LabState;
  try {
    state = (
      await labUp(c, dir, {
        progress: (step, ms) => {
          log(progress, `  ${step} (${String(ms)} ms)`);
        },
        note: (line) => {
          log(progress, line);
        },
      })
    ).state;
  } catch (e) {
    memory.stop();
    return { ...base, skipped: `lab up failed: ${(e as Error).message}` };
  }
  try {
    const upMs = Math.round(performance.now() - t0);
    const daemons = daemonMemory(state);
    const pair = crossNodePair(scenario);
    log(progress, `${k.title}: up in ${String(upMs)} ms; tracing`);
    const trace = cliTrace(["--lab", dir, ...pairArgs(scenario)], 2);
    log(progress, `${k.title}: reachability matrix between two namespaces`);
    const matrix = cliMatrix(dir, scenario);
    const { nb, sb } = dbBytes(state);
    return {
      ...base,
      upMs,
      stepsMs: state.timingsMs,
      peakDaemonsMib: memory.stop(),
      daemons,
      peakSelfMib: Math.round(process.resourceUsage().maxRSS / 1024),
      ...(pair === undefined ? {} : { flowsOnTraceNode: flowCount(state, pair.src.node) }),
      nbBytes: nb,
      sbBytes: sb,
      trace,
      ...(matrix === undefined ? {} : { matrix }),
    };
  } finally {
    memory.stop();
    await labDown(dir);
  }
}

/**
 * A snapshot of a lab (`snapshot collect --lab`), its replica started (`snapshot start`, timed), one trace on it
 * (`--snapshot`), the replica stopped.
 */
export async function benchSnapshotOf(
  root: string,
  title: string,
  c: LabCluster,
  pair: readonly string[],
  progress?: (line: string) => void,
): Promise<SnapshotFigures> {
  const available = availableMemoryMib();
  const need = estimateMemoryMib(c);
  if (available !== undefined && need > available)
    return { title, skipped: `needs ~${String(need)} MiB, ${String(available)} MiB available` };
  const key = `s${String(c.nodes.length)}${c.shape.slice(0, 1)}${String(c.services.length)}`;
  const dir = join(root, `${key}l`);
  const out = join(root, `${key}s`);
  log(progress, `${title}: lab up`);
  let t0 = performance.now();
  const state = (
    await labUp(c, dir, {
      note: (line) => {
        log(progress, line);
      },
    })
  ).state;
  const labUpMs = Math.round(performance.now() - t0);
  let collectMs: number;
  try {
    log(progress, `${title}: snapshot collect --lab`);
    t0 = performance.now();
    const b = LabBackend.open(state.dir);
    await collectFromBackend(b, { out, source: { kind: "lab", description: b.description } });
    collectMs = Math.round(performance.now() - t0);
  } finally {
    await labDown(dir);
  }
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
    files: Record<string, { bytes: number }>;
  };
  const total = (re: RegExp): number =>
    Object.entries(manifest.files)
      .filter(([f]) => re.test(f))
      .reduce((n, [, f]) => Math.max(n, f.bytes), 0);
  try {
    log(progress, `${title}: snapshot start`);
    t0 = performance.now();
    const started = spawnSync(process.execPath, [CLI, "snapshot", "start", out], { encoding: "utf8" });
    const startMs = Math.round(performance.now() - t0);
    if (started.status !== 0) return { title, skipped: `snapshot start failed: ${started.stderr.trim()}` };
    log(progress, `${title}: trace --snapshot`);
    // the first run also reads the snapshot's index into the page cache: the median of 5
    const trace = cliTrace(["--snapshot", out, ...pair], 5);
    return {
      title,
      labUpMs,
      collectMs,
      sbBytes: total(/sb/i),
      nbBytes: total(/nb/i),
      snapshotBytes: Object.values(manifest.files).reduce((n, f) => n + f.bytes, 0),
      startMs,
      trace,
    };
  } finally {
    await stopReplica(out).catch(() => undefined);
  }
}

/** Every figure of this benchmark; `quick`: the 25-node lab and no snapshot; `snapshotsOnly`: no lab. */
export async function benchScale(
  opts: { quick?: boolean; snapshotsOnly?: boolean; progress?: (line: string) => void } = {},
): Promise<ScaleFigures> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const root = mkdtempSync("/tmp/otb-scale");
  try {
    // a case that fails is reported as such; the others still run
    const failed = (title: string, e: unknown): { title: string; skipped: string } => ({
      title,
      skipped: `failed: ${e instanceof Error ? e.message : String(e)}`,
    });
    const labs: LabFigures[] = [];
    const cases =
      opts.snapshotsOnly === true ? [] : opts.quick === true ? SCALE_CASES.slice(0, 1) : SCALE_CASES;
    for (const k of cases) {
      labs.push(
        await benchLab(root, k, opts.progress).catch((e: unknown) => ({
          ...failed(k.title, e),
          nodes: k.options.nodes,
          pods: 0,
          services: 0,
          policies: 0,
          shape: k.options.shape ?? "central",
          estimatedMib: 0,
          estimatedFlowsPerNode: 0,
        })),
      );
    }
    const snapshots: SnapshotFigures[] = [];
    let ratio: SnapshotRatio | undefined;
    if (opts.quick !== true) {
      const kind = "3-node kind example (central)";
      snapshots.push(
        await benchSnapshotOf(
          root,
          "3-node kind example (central)",
          loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "central"),
          ["--src", "client", "--dst", "web", "--tcp", "--dst-port", "8080"],
          opts.progress,
        ).catch((e: unknown) => failed(kind, e)),
      );
      const title = "SB >= 100 MB (2 central nodes, 36,000 services)";
      const big = scaleScenario(BIG_SB);
      snapshots.push(
        await benchSnapshotOf(root, title, resolveScenario(big), pairArgs(big), opts.progress).catch(
          (e: unknown) => failed(title, e),
        ),
      );
      const [s, b] = snapshots;
      ratio = s === undefined || b === undefined ? undefined : snapshotRatio(s, b);
    }
    return { labs, snapshots, ...(ratio === undefined ? {} : { snapshotRatio: ratio }) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function fmtBytes(n: number | undefined): string {
  return n === undefined ? "-" : `${(n / 1e6).toFixed(1)} MB`;
}

/** The figures, a few lines per lab and snapshot. */
export function scaleLines(f: ScaleFigures): string[] {
  const out: string[] = [];
  for (const l of f.labs) {
    out.push(
      `${l.title} (${String(l.nodes)} nodes, ${String(l.pods)} pods, ${String(l.services)} svc, ${String(l.policies)} NP; est. ${String(l.estimatedFlowsPerNode)} flows/node, ${String(l.estimatedMib)} MiB)`,
    );
    if (l.skipped !== undefined) {
      out.push(`  skipped: ${l.skipped}`);
      continue;
    }
    out.push(`  lab up:        ${String(l.upMs)} ms  ${JSON.stringify(l.stepsMs)}`);
    out.push(
      `  memory:        daemons peak ${String(l.peakDaemonsMib)} MiB (sum of VmRSS), this process ${String(l.peakSelfMib)} MiB`,
    );
    for (const [role, m] of Object.entries(l.daemons ?? {}))
      out.push(
        `                 ${role} x${String(m.count)}: ${String(m.peakMib)} MiB (max ${String(m.maxPeakMib)})`,
      );
    out.push(
      `  flows on the source node: ${String(l.flowsOnTraceNode)}; NB ${fmtBytes(l.nbBytes)}, SB ${fmtBytes(l.sbBytes)}`,
    );
    if (l.trace !== undefined)
      out.push(
        `  trace (CLI):   ${l.trace.ms.map((x) => `${String(x)} ms`).join(", ")}, exit ${String(l.trace.exitCode)}: ${l.trace.verdict}`,
      );
    if (l.matrix !== undefined)
      out.push(
        `  matrix (CLI):  ${l.matrix.from} -> ${l.matrix.to}, tcp/80: ${String(l.matrix.cells)} cells in ${String(Math.round(l.matrix.elapsedMs))} ms, ${l.matrix.cellsPerSecond.toFixed(1)} cells/s (1,000 cells: ${(1000 / l.matrix.cellsPerSecond).toFixed(0)} s)`,
      );
  }
  for (const s of f.snapshots) {
    out.push(s.title);
    if (s.skipped !== undefined) {
      out.push(`  skipped: ${s.skipped}`);
      continue;
    }
    out.push(
      `  lab up ${String(s.labUpMs)} ms; collect ${String(s.collectMs)} ms; SB ${fmtBytes(s.sbBytes)}, NB ${fmtBytes(s.nbBytes)}, all ${fmtBytes(s.snapshotBytes)}`,
    );
    out.push(`  snapshot start: ${String(s.startMs)} ms`);
    if (s.trace !== undefined)
      out.push(
        `  trace --snapshot: ${s.trace.ms.map((x) => `${String(x)} ms`).join(", ")}, exit ${String(s.trace.exitCode)}: ${s.trace.verdict}`,
      );
  }
  const r = f.snapshotRatio;
  if (r !== undefined)
    out.push(
      `trace on the >= 100 MB SB snapshot / on the 3-node snapshot (medians): ${String(r.bigMs)} ms / ${String(r.smallMs)} ms = ${r.ratio.toFixed(2)}x (target: <= 3x)`,
    );
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const quick = process.argv.includes("--quick");
  const snapshotsOnly = process.argv.includes("--snapshots");
  benchScale({ quick, snapshotsOnly, progress: (line) => process.stderr.write(`· ${line}\n`) }).then(
    (f) => process.stdout.write(`${scaleLines(f).join("\n")}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
