/**
 * One benchmark run of our parsers against named baselines; prints a table with the ratios.
 *
 *   npx tsx bench/run.ts [--quick]
 *
 * 1. dump-flows: `ovs-ofctl --no-stats dump-flows br-int` of a lab node carrying ≥10,000 real flows (a lab
 *    scenario with 200 pods, 900 services and 50 network policies), parsed by parseDumpFlows and by Open
 *    vSwitch's own Python parser `ovs.flow.ofp.OFPFlow` (the one ovs-flowviz uses) in /usr/bin/python3,
 *    which times itself so that interpreter start-up and the import are left out (and reported apart).
 *    OVS 3.1's OFPFlow has no decoder for `n_packets`, so both parse the --no-stats form.
 * 2. ofproto/trace: no other parser of it exists, so the baseline is what producing a trace costs:
 *    `ovs-appctl ofproto/trace` of a pod-to-pod trace on the same lab, against parsing that very output.
 *    Throughput is measured on a ≥5,000-line trace made of real passes (see buildLongTrace).
 * 3. OVSDB: readOvsdbFile on a ~50 MB SB file against ovsdb-server starting on it (bench/ovsdb-load.ts).
 * 4. The full trace against the Go tool's command sequence (bench/trace-vs-go.ts).
 * 5. Snapshots: collect from the lab, start and stop its replica (bench/snapshot.ts).
 *
 * Nothing is written into the repository: temporary files live in /tmp and are deleted, the lab is brought
 * down and ovsdb-server stopped by pid, also when a step fails. If the lab cannot start, the dump-flows input
 * falls back to the real fixture replicated to ≥10,000 flows and the trace baseline is skipped.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { resolveScenario } from "../src/lab/cluster.js";
import { findNode, labDown, labUp, nodeEnv, type LabState } from "../src/lab/lab.js";
import type { PodSpec, Scenario } from "../src/lab/scenario.js";
import { parseDumpFlows } from "../src/parsers/dump-flows.js";
import { parseOfprotoTrace } from "../src/parsers/ofproto-trace.js";
import { measureOvsdbLoad, median } from "./ovsdb-load.js";
import { benchSnapshot } from "./snapshot.js";
import { benchTraceVsGo } from "./trace-vs-go.js";
import { benchStartup, type ProcessFigures } from "./cli.js";
import { benchOvnTraceDaemon } from "./ovn-trace-daemon.js";
import { benchMatrix, type MatrixRunFigures } from "./matrix.js";
import { benchScale, scaleLines } from "./scale.js";

const QUICK = process.argv.includes("--quick");
const PLAN = QUICK
  ? { parseRuns: 5, pythonRuns: 3, appctlRuns: 7, ovsdbMb: 15, ovsdbRuns: 3 }
  : { parseRuns: 21, pythonRuns: 5, appctlRuns: 21, ovsdbMb: 50, ovsdbRuns: 5 };
const MIN_FLOWS = 10_000;
const MIN_TRACE_LINES = 5_000;
const PYTHON = "/usr/bin/python3";
const FLOWS_FIXTURE = new URL(
  "../test/fixtures/openflow/ovn-worker_br-int.flows.noStats.txt",
  import.meta.url,
);
/** Four passes: the pod's first pass, two conntrack recirculations through the gateway router, the SNAT one. */
const RECIRC_FIXTURE = new URL(
  "../test/fixtures/ofproto-trace/ovn-lab_31-ofproto-trace-ovn-worker-A-to-external-GR-snat.txt",
  import.meta.url,
);
const MB = 1024 * 1024;

function progress(text: string): void {
  process.stderr.write(`· ${text}\n`);
}

// --- timing ------------------------------------------------------------------------------------

/** Times `runs` calls; no separate warm-up: the median leaves the cold first run out, which is reported too. */
function timeRuns<T>(runs: number, fn: () => T): { ms: number[]; result: T } {
  const t0 = performance.now();
  const result = fn();
  const ms = [performance.now() - t0];
  for (let i = 1; i < runs; i++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return { ms, result };
}

function fmtMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString("en-US")} ms`;
}

function fmtRate(count: number, ms: number, unit: string): string {
  const perSecond = count / (ms / 1000);
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M ${unit}/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k ${unit}/s`;
  return `${perSecond.toFixed(0)} ${unit}/s`;
}

function fmtMbps(bytes: number, ms: number): string {
  return `${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s`;
}

function fmtRatio(ours: number, baseline: number): string {
  const r = ours / baseline;
  const factor = r < 1 ? 1 / r : r;
  const x = `${factor.toFixed(factor < 10 ? 2 : 1)}× ${r < 1 ? "faster" : "slower"}`;
  return `${r.toFixed(r < 0.1 ? 4 : 2)} (${x})`;
}

// --- the lab: a real large flow table and real traces --------------------------------------------

/** 200 pods on two workers, 900 services with endpoints, 50 policies: ~12,800 flows on ovn-worker's br-int. */
function benchScenario(): Scenario {
  const pods: PodSpec[] = Array.from({ length: 200 }, (_, i) => ({
    namespace: `ns${i % 10}`,
    name: `p${i}`,
    node: i % 2 === 0 ? "ovn-worker" : "ovn-worker2",
    ips: [`10.244.${i % 2 === 0 ? 1 : 2}.${10 + Math.floor(i / 2)}`],
    labels: { app: `a${i % 50}` },
    ports: [{ port: 8080 }],
  }));
  return {
    name: "bench",
    shape: "interconnect",
    nodes: [{ name: "ovn-control-plane" }, { name: "ovn-worker" }, { name: "ovn-worker2" }],
    pods,
    services: Array.from({ length: 900 }, (_, i) => ({
      namespace: `ns${i % 10}`,
      name: `s${i}`,
      clusterIPs: [`10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`],
      selector: { app: `a${i % 50}` },
      ports: [{ protocol: "TCP" as const, port: 80, targetPort: 8080 }],
    })),
    networkPolicies: Array.from({ length: 50 }, (_, i) => ({
      namespace: `ns${i % 10}`,
      name: `np${i}`,
      podSelector: { matchLabels: { app: `a${i % 50}` } },
      policyTypes: ["Ingress" as const],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { app: `a${(i + 1) % 50}` } } }],
          ports: [{ protocol: "TCP" as const, port: 8080 }],
        },
      ],
    })),
  };
}

interface LabTrace {
  readonly command: string;
  readonly text: string;
  readonly appctlMs: number[];
}

interface LabCapture {
  readonly flows: string;
  readonly trace: LabTrace;
}

function runTool(env: NodeJS.ProcessEnv, cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 1 << 28, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || String(r.error)}`);
  return r.stdout;
}

/** ovn-controller may still be installing flows right after `up`: wait until two dumps agree. */
async function settledFlowDump(env: NodeJS.ProcessEnv): Promise<string> {
  let previous = runTool(env, "ovs-ofctl", ["--no-stats", "dump-flows", "br-int"]);
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = runTool(env, "ovs-ofctl", ["--no-stats", "dump-flows", "br-int"]);
    if (next === previous) return next;
    previous = next;
  }
  return previous;
}

function traceArgs(state: LabState): string[] {
  const [a, b] = state.cluster.pods;
  const gatewayMac = a === undefined ? undefined : findNode(state.cluster, a.node).gatewayMac;
  if (a === undefined || b === undefined || gatewayMac === undefined) throw new Error("lab has no pods A, B");
  const flow =
    `in_port=${a.iface},tcp,dl_src=${a.mac},dl_dst=${gatewayMac},nw_src=${a.ips[4] ?? ""},` +
    `nw_dst=${b.ips[4] ?? ""},nw_ttl=64,tcp_src=40000,tcp_dst=8080,tcp_flags=0x002`;
  return ["ofproto/trace", "br-int", flow, "--ct-next", "trk,new"];
}

/** The pod's packet leaves the node by the Geneve tunnel: the trace we want to time. */
function reachesTunnel(trace: string): boolean {
  return /^Datapath actions: .*tnl_push\(/m.test(trace.slice(trace.lastIndexOf("\nDatapath actions: ")));
}

/** On a loaded machine ovn-controller can lag behind `lab up`: wait until A→B leaves by the tunnel. */
async function awaitPodToPodPath(env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if (reachesTunnel(runTool(env, "ovs-appctl", args))) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the A→B trace never reached the Geneve tunnel");
}

/** A→B across nodes, as the reference lab's source-hop trace: conntrack recirculation, router, Geneve. */
function traceOnLab(env: NodeJS.ProcessEnv, args: string[], runs: number): LabTrace {
  const texts = new Set<string>();
  const { ms, result } = timeRuns(runs, () => {
    const text = runTool(env, "ovs-appctl", args);
    // OVS allocates a fresh recirculation id for every trace; anything else must not change.
    texts.add(text.replace(/recirc(\(|_id=)0x[0-9a-f]+/g, "recirc$1ID"));
    return text;
  });
  if (texts.size > 1) throw new Error(`ovs-appctl gave ${texts.size} different traces over ${runs} runs`);
  return { command: `ovs-appctl ${args.join(" ")}`, text: result, appctlMs: ms };
}

async function captureFromLab(): Promise<LabCapture> {
  const dir = mkdtempSync(join(tmpdir(), "otb-lab-"));
  const down = (): void => {
    void labDown(dir).finally(() => process.exit(130));
  };
  process.once("SIGINT", down);
  process.once("SIGTERM", down);
  try {
    const t0 = performance.now();
    const { state } = await labUp(resolveScenario(benchScenario()), dir);
    const env = nodeEnv(state, "ovn-worker");
    const args = traceArgs(state);
    await awaitPodToPodPath(env, args);
    const flows = await settledFlowDump(env);
    progress(
      `lab up with ${state.cluster.pods.length} pods in ${fmtMs(performance.now() - t0)}; dumped br-int`,
    );
    const trace = traceOnLab(env, args, PLAN.appctlRuns);
    return { flows, trace };
  } finally {
    await labDown(dir);
    process.removeListener("SIGINT", down);
    process.removeListener("SIGTERM", down);
    progress("lab down");
  }
}

// --- inputs built from the fixtures -------------------------------------------------------------

/** The real fixture copied until ≥minFlows; each copy's cookies get the copy number in their high 32 bits. */
function replicateFixtureFlows(minFlows: number): string {
  const lines = readFileSync(FLOWS_FIXTURE, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  const copies = Math.ceil(minFlows / lines.length);
  const out: string[] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const line of lines) out.push(withCopyCookie(line, BigInt(copy)));
  }
  return `${out.join("\n")}\n`;
}

function withCopyCookie(line: string, copy: bigint): string {
  if (copy === 0n) return line;
  const m = /^ cookie=0x([0-9a-f]+), /.exec(line);
  const cookie = ((copy << 32n) | BigInt(`0x${m?.[1] ?? "0"}`)).toString(16);
  return m === null
    ? ` cookie=0x${cookie}, ${line.trimStart()}`
    : ` cookie=0x${cookie}, ${line.slice(m[0].length)}`;
}

const SEPARATOR = /^={10,}$/;
const RECIRC_ID = /recirc\((0x[0-9a-f]+)\)|recirc_id=(0x[0-9a-f]+)/g;

/** A multi-pass trace's passes; a pass after the first starts at the `=====` line above its `recirc(...)`. */
function splitPasses(lines: readonly string[]): string[][] {
  const passes: string[][] = [[]];
  for (const [i, line] of lines.entries()) {
    if (SEPARATOR.test(line) && lines[i + 1]?.startsWith("recirc(") === true) passes.push([]);
    passes.at(-1)?.push(line);
  }
  return passes;
}

function ownRecircId(pass: readonly string[]): string | undefined {
  return pass.map((l) => /^recirc\((0x[0-9a-f]+)\) - /.exec(l)?.[1]).find((id) => id !== undefined);
}

function nextRecircId(pass: readonly string[]): string | undefined {
  const actions = pass.find((l) => l.startsWith("Datapath actions: ")) ?? "";
  return [...actions.matchAll(/recirc\((0x[0-9a-f]+)\)/g)].at(-1)?.[1];
}

/** Gives a pass the recirculation id `own` and makes it recirculate to `next`. */
function renumberPass(pass: readonly string[], own: string, next: string): string[] {
  const [oldOwn, oldNext] = [ownRecircId(pass), nextRecircId(pass)];
  return pass.map((line) =>
    line.replace(RECIRC_ID, (text, a?: string, b?: string) => {
      const id = a ?? b;
      const renamed = id === oldOwn ? own : id === oldNext ? next : undefined;
      if (renamed === undefined) throw new Error(`unexpected recirculation id in: ${line}`);
      return text.replace(id ?? "", renamed);
    }),
  );
}

/**
 * One ofproto/trace of ≥minLines: the real 4-pass fixture (pod → gateway router → SNAT, OVS 3.1) with its
 * longest pass (the 497-line conntrack recirculation through the pod's switch, the router and the join
 * switch) repeated, every pass renumbered so that each recirculates to the next id, as OVS chains them
 * (OVS stops a trace only after 4096 recirculations). Every line is real OVS output; the chain of flows
 * is not one a pipeline would take.
 */
function buildLongTrace(minLines: number): { text: string; passes: number; repeats: number } {
  const lines = readFileSync(RECIRC_FIXTURE, "utf8").replace(/\n$/, "").split("\n");
  const [first, repeated, ...rest] = splitPasses(lines);
  if (first === undefined || repeated === undefined)
    throw new Error("the recirculation fixture has one pass");
  const fixed = first.length + rest.reduce((n, p) => n + p.length, 0);
  const repeats = Math.max(1, Math.ceil((minLines - fixed) / repeated.length));
  const sequence = [first, ...Array.from({ length: repeats }, () => repeated), ...rest];
  const id = (i: number): string => `0x${(0x10 + i).toString(16)}`;
  const out = sequence.flatMap((pass, i) => renumberPass(pass, id(i - 1), id(i)));
  return { text: `${out.join("\n")}\n`, passes: sequence.length, repeats };
}

// --- the measurements ---------------------------------------------------------------------------

interface Row {
  readonly work: string;
  readonly ours: string;
  readonly baseline: string;
  readonly ratio: string;
}

const notes: string[] = [];

interface PythonResult {
  readonly flows: number;
  readonly runsMs: number[];
  readonly importMs: number;
  readonly startupMs: number;
  readonly version: string;
}

const PYTHON_BASELINE = `
import json, sys, time
t0 = time.perf_counter()
try:
    from ovs.flow.ofp import OFPFlow
    import ovs.version
except ImportError as e:
    print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)
t1 = time.perf_counter()
text = open(sys.argv[1]).read()
runs = []
for _ in range(int(sys.argv[2])):
    s = time.perf_counter()
    flows = [OFPFlow(line) for line in text.splitlines() if line.strip()]
    runs.append((time.perf_counter() - s) * 1000)
print(json.dumps({"flows": len(flows), "runsMs": runs, "importMs": (t1 - t0) * 1000,
                  "version": "Python %s, OVS %s" % (sys.version.split()[0], ovs.version.VERSION)}))
`;

/** What `python3 -c pass` costs: the interpreter start-up (and exit) left out of the baseline's figures. */
function pythonStartupMs(): number {
  return median(timeRuns(5, () => spawnSync(PYTHON, ["-c", "pass"])).ms);
}

/** OFPFlow on every non-blank line; a string saying why when the baseline cannot run here. */
function runPythonBaseline(text: string, runs: number): PythonResult | string {
  const dir = mkdtempSync(join(tmpdir(), "otb-py-"));
  try {
    const file = join(dir, "flows.txt");
    writeFileSync(file, text);
    const r = spawnSync(PYTHON, ["-c", PYTHON_BASELINE, file, String(runs)], {
      encoding: "utf8",
      timeout: 300_000,
    });
    if (r.error !== undefined) return `${PYTHON}: ${r.error.message}`;
    if (r.status !== 0)
      return `${PYTHON} exited ${String(r.status)}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`;
    const out = JSON.parse(r.stdout) as { error?: string } & Omit<PythonResult, "startupMs">;
    if (out.error !== undefined) return `${out.error} (needs Debian python3-openvswitch and python3-netaddr)`;
    return { ...out, startupMs: pythonStartupMs() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchDumpFlows(text: string, source: string): Row {
  const bytes = Buffer.byteLength(text);
  progress(`dump-flows: parseDumpFlows × ${PLAN.parseRuns}`);
  const ours = timeRuns(PLAN.parseRuns, () => parseDumpFlows(text));
  const flows = ours.result.flows.length;
  if (ours.result.unconsumed.length > 0) throw new Error(`${ours.result.unconsumed.length} unconsumed lines`);
  const oursMs = median(ours.ms);
  const work = `dump-flows --no-stats: ${flows.toLocaleString("en-US")} flows, ${(bytes / MB).toFixed(2)} MB (${source})`;
  notes.push(
    `dump-flows: parseDumpFlows first (cold) run ${fmtMs(ours.ms[0] ?? NaN)}, median of ${PLAN.parseRuns}.`,
  );

  progress(`dump-flows: ovs.flow.ofp.OFPFlow × ${PLAN.pythonRuns}`);
  const py = runPythonBaseline(text, PLAN.pythonRuns);
  const oursText = `${fmtMs(oursMs)}, ${fmtMbps(bytes, oursMs)}, ${fmtRate(flows, oursMs, "flows")}`;
  if (typeof py === "string") {
    notes.push(`dump-flows baseline SKIPPED: ${py}`);
    return { work, ours: oursText, baseline: "ovs.flow.ofp.OFPFlow: skipped (see notes)", ratio: "—" };
  }
  if (py.flows !== flows) throw new Error(`flow counts differ: ours ${flows}, OFPFlow ${py.flows}`);
  const pyMs = median(py.runsMs);
  notes.push(
    `dump-flows baseline: ${py.version}, OFPFlow per line (splitlines included, like ours), median of ` +
      `${py.runsMs.map((x) => x.toFixed(0)).join("/")} ms; excluded: interpreter start-up (python3 -c pass) ` +
      `${fmtMs(py.startupMs)}, import ovs.flow.ofp ${fmtMs(py.importMs)}. Both parsed ${flows} flows.`,
  );
  return {
    work,
    ours: oursText,
    baseline: `ovs.flow.ofp.OFPFlow: ${fmtMs(pyMs)}, ${fmtMbps(bytes, pyMs)}, ${fmtRate(flows, pyMs, "flows")}`,
    ratio: fmtRatio(oursMs, pyMs),
  };
}

function benchLongTrace(): Row {
  const long = buildLongTrace(MIN_TRACE_LINES);
  progress(`ofproto/trace: a ${MIN_TRACE_LINES}+ line trace × ${PLAN.parseRuns}`);
  const { ms, result: doc } = timeRuns(PLAN.parseRuns, () => parseOfprotoTrace(long.text));
  // Each pass must resume the recirculation the pass before it asked for.
  const chained = doc.passes.every(
    (p, i) =>
      i === 0 || doc.passes[i - 1]?.datapathActions.text.endsWith(`recirc(${p.recirc?.recircId ?? ""})`),
  );
  if (doc.unconsumed.length > 0 || doc.passes.length !== long.passes || !chained) {
    throw new Error(
      `long trace not parsed as built: ${doc.unconsumed.length} unconsumed, ` +
        `${doc.passes.length}/${long.passes} passes, chained: ${String(chained)}`,
    );
  }
  const oursMs = median(ms);
  const bytes = Buffer.byteLength(long.text);
  notes.push(
    `ofproto/trace input: fixture ovn-lab_31 (4 real OVS 3.1 passes) with its 497-line recirculation pass ` +
      `repeated ${long.repeats}×, recirc ids renumbered 0x10.. so each pass recirculates to the next: ` +
      `${long.passes} passes, ${doc.lineCount} lines, 0 unconsumed. First (cold) parse ${fmtMs(ms[0] ?? NaN)}.`,
  );
  return {
    work: `ofproto/trace: ${doc.lineCount.toLocaleString("en-US")} lines, ${long.passes} passes, ${(bytes / MB).toFixed(2)} MB`,
    ours: `${fmtMs(oursMs)}, ${fmtMbps(bytes, oursMs)}, ${fmtRate(doc.lineCount, oursMs, "lines")}`,
    baseline: "none: no other ofproto/trace parser exists",
    ratio: "—",
  };
}

function benchLabTrace(trace: LabTrace): Row {
  const doc = parseOfprotoTrace(trace.text);
  if (doc.unconsumed.length > 0) throw new Error(`lab trace: ${doc.unconsumed.length} unconsumed lines`);
  // A few hundred lines parse in well under a millisecond: more runs keep the median steady.
  const { ms } = timeRuns(PLAN.parseRuns * 5, () => parseOfprotoTrace(trace.text));
  const parseMs = median(ms);
  const appctlMs = median(trace.appctlMs);
  notes.push(
    `lab trace: \`${trace.command}\` on ovn-worker, ${doc.passes.length} passes; ovs-appctl median of ` +
      `${trace.appctlMs.length} runs (process start included, as a user runs it), parse median of ${ms.length}.`,
  );
  return {
    work: `ofproto/trace: real pod A→B trace from the lab, ${doc.lineCount} lines`,
    ours: `${fmtMs(parseMs)}, ${fmtMbps(Buffer.byteLength(trace.text), parseMs)}`,
    baseline: `ovs-appctl ofproto/trace producing it: ${fmtMs(appctlMs)}`,
    ratio: `${(parseMs / appctlMs).toFixed(3)} (parse = ${((100 * parseMs) / appctlMs).toFixed(1)}% of producing)`,
  };
}

async function benchOvsdb(): Promise<Row> {
  progress(`OVSDB: building a ${PLAN.ovsdbMb} MB SB file, ${PLAN.ovsdbRuns} loads each way`);
  const r = await measureOvsdbLoad(PLAN.ovsdbMb, PLAN.ovsdbRuns);
  const readerMs = median(r.readerMs);
  const serverMs = median(r.serverMs);
  const runs = (ms: readonly number[]): string => ms.map((x) => x.toFixed(0)).join("/");
  notes.push(
    `OVSDB: ${r.records} records, ${r.flows} Logical_Flow rows seen by both; readOvsdbFile ${runs(r.readerMs)} ms, ` +
      `ovsdb-server ${runs(r.serverMs)} ms.`,
  );
  return {
    work: `OVSDB SB file load: ${r.mb.toFixed(1)} MB, ${r.flows.toLocaleString("en-US")} logical flows`,
    ours: `${fmtMs(readerMs)}, ${fmtMbps(r.mb * MB, readerMs)} (readFileSync + readOvsdbFile)`,
    baseline: `ovsdb-server start until list-dbs answers: ${fmtMs(serverMs)}`,
    ratio: fmtRatio(readerMs, serverMs),
  };
}

function printTable(rows: readonly Row[]): void {
  const header: Row = {
    work: "work",
    ours: "ours (median)",
    baseline: "baseline (median)",
    ratio: "ours / baseline",
  };
  const cells = [header, ...rows].map((r) => [r.work, r.ours, r.baseline, r.ratio]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...cells.map((row) => row[c]?.length ?? 0)));
  const line = (row: string[]): string => row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ");
  const [head, ...body] = cells;
  console.log(line(head ?? []));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const row of body) console.log(line(row));
}

/** The whole job: both directions, every node, detrace, through the Kubernetes API, vs the Go tool's sequence. */
async function benchFullTrace(): Promise<Row[]> {
  const r = await benchTraceVsGo(QUICK ? 2 : 5);
  const overhead: Row = {
    work: "same trace on the lab directly (ovn-trace, ofproto/trace, DB reads for the native detrace)",
    ours: `${r.labOursMs.toFixed(0)} ms in all`,
    baseline: `the same tool runs one after another: ${r.rawMs.toFixed(0)} ms`,
    ratio: `${(r.labOursMs / r.rawMs).toFixed(2)} (our overhead, with parallel runs)`,
  };
  return [
    overhead,
    {
      work: "full bidirectional trace pod->pod across nodes, via the Kubernetes API (interconnect lab)",
      ours: `${r.oursMs.toFixed(0)} ms, ${r.oursExecs} execs, OpenFlow on every node`,
      baseline: `Go ovnkube-trace's command sequence: ${r.goMs.toFixed(0)} ms, ${r.goExecs} execs, source node only`,
      ratio: `${(r.oursMs / r.goMs).toFixed(2)} (${(r.goMs / r.oursMs).toFixed(1)}x faster)`,
    },
  ];
}

/** Snapshot collect and replica start of the 3-node lab; the target (3 s) is the baseline of start. */
async function benchSnapshots(): Promise<Row[]> {
  const s = await benchSnapshot(QUICK ? 2 : 5);
  const start = median(s.startMs);
  return [
    {
      work: `snapshot collect --lab (${String(s.nodes)} nodes, ${(s.bytes / MB).toFixed(1)} MB)`,
      ours: `${median(s.collectMs).toFixed(0)} ms`,
      baseline: "—",
      ratio: "—",
    },
    {
      work: `snapshot start: ${String(s.nodes)}-node replica (ovsdb-servers, vswitchds, flows restored)`,
      ours: `${start.toFixed(0)} ms (stop ${median(s.stopMs).toFixed(0)} ms)`,
      baseline: "the issue's target: 3000 ms",
      ratio: (start / 3000).toFixed(2),
    },
  ];
}

/** Start-up of the CLI against Node's own, both fresh processes with their peak memory. */
function benchStartupRows(): Row[] {
  progress("CLI start-up: --version and --help vs node -e 0");
  const runs = QUICK ? 5 : 15;
  const s = benchStartup(runs);
  const row = (what: string, f: ProcessFigures): Row => ({
    work: `ovnkube-trace ${what} (a fresh process)`,
    ours: `${fmtMs(f.ms)}, peak ${f.maxRssMb.toFixed(0)} MiB`,
    baseline: `node -e 0: ${fmtMs(s.node.ms)}, peak ${s.node.maxRssMb.toFixed(0)} MiB`,
    ratio: fmtRatio(f.ms, s.node.ms),
  });
  return [row("--version", s.version), row("--help", s.help)];
}

/** ovn-trace daemons against a process per trace, and the CLI's whole lab trace with its peak memory. */
async function benchDaemonRows(): Promise<Row[]> {
  progress("ovn-trace daemons vs one process per trace (3-node lab, a Service with 3 backends)");
  const r = await benchOvnTraceDaemon(QUICK ? 3 : 7);
  const a = r.allBackends;
  const rate = (ms: number): string => fmtRate(a.traces, ms, "ovn-traces");
  return [
    {
      work: "full bidirectional lab trace pod->pod across nodes, the CLI (fresh process, --lab)",
      ours: `${fmtMs(r.cli.ms)}, peak ${r.cli.maxRssMb.toFixed(0)} MiB`,
      baseline: "the issue's goal: 300 ms, 80 MiB",
      ratio: fmtRatio(r.cli.ms, 300),
    },
    {
      work: "same trace in-process: ovn-trace daemons vs a process per trace",
      ours: `${fmtMs(r.podToPod.daemonMs)} with daemons`,
      baseline: `${fmtMs(r.podToPod.oneShotMs)} one-shot`,
      ratio: fmtRatio(r.podToPod.daemonMs, r.podToPod.oneShotMs),
    },
    {
      work: `--all-backends, ${String(a.backends)} backends (${String(a.traces)} ovn-traces per run)`,
      ours: `${fmtMs(a.daemonMs)} with daemons, ${rate(a.daemonMs)}`,
      baseline: `${fmtMs(a.oneShotMs)} one-shot, ${rate(a.oneShotMs)}`,
      ratio: fmtRatio(a.daemonMs, a.oneShotMs),
    },
  ];
}

/** The reachability matrix on the lab: cells per second with daemons, with a process per trace, with OpenFlow. */
async function benchMatrixRows(): Promise<Row[]> {
  progress("reachability matrix on examples/matrix.yaml");
  const r = await benchMatrix(QUICK ? 1 : 3);
  const cells = (x: MatrixRunFigures): string =>
    `${String(x.cells)} cells in ${fmtMs(x.ms)}: ${x.cellsPerSecond.toFixed(0)} cells/s`;
  return [
    {
      work: `matrix, ${String(r.pods)} pods x (pods + Services) x ${String(r.ports)} ports, ovn-trace daemons`,
      ours: cells(r.full),
      baseline: "the issue's goal: 50 cells/s",
      ratio: fmtRatio(1 / r.full.cellsPerSecond, 1 / 50),
    },
    {
      work: "one namespace's rows: daemons vs a process per ovn-trace",
      ours: cells(r.subset.daemons),
      baseline: cells(r.subset.oneShot),
      ratio: fmtRatio(1 / r.subset.daemons.cellsPerSecond, 1 / r.subset.oneShot.cellsPerSecond),
    },
  ];
}

async function main(): Promise<void> {
  // the CLI rows run the built CLI
  spawnSync("npm", ["run", "build", "--silent"], { stdio: "inherit" });
  let capture: LabCapture | undefined;
  try {
    capture = await captureFromLab();
  } catch (e) {
    notes.push(
      `lab step failed (${(e as Error).message.split("\n")[0] ?? ""}): fixture flows, no trace baseline.`,
    );
  }
  const flows = capture?.flows ?? replicateFixtureFlows(MIN_FLOWS);
  const source = capture === undefined ? "real fixture replicated, cookies rewritten" : "real, from the lab";
  const rows = [benchDumpFlows(flows, source), benchLongTrace()];
  if (capture !== undefined) rows.push(benchLabTrace(capture.trace));
  rows.push(await benchOvsdb());
  rows.push(...benchStartupRows());
  rows.push(...(await benchFullTrace()));
  rows.push(...(await benchDaemonRows()));
  rows.push(...(await benchMatrixRows()));
  progress(
    "scale: generated labs (25-node central; without --quick also 50-node central, 100-node interconnect, a >= 100 MB SB snapshot)",
  );
  const scale = scaleLines(await benchScale({ quick: QUICK, progress }));
  rows.push(...(await benchSnapshots()));
  if (parseDumpFlows(flows).flows.length < MIN_FLOWS) notes.push(`WARNING: fewer than ${MIN_FLOWS} flows.`);

  console.log(
    `\novnkube-trace benchmark${QUICK ? " (--quick)" : ""}: node ${process.version}, ` +
      `${availableParallelism()} CPUs, ${(performance.now() / 1000).toFixed(0)} s in all\n`,
  );
  printTable(rows);
  console.log("");
  for (const note of notes) console.log(`- ${note}`);
  console.log("\nat scale:");
  for (const line of scale) console.log(line);
}

await main();
