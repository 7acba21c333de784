import { mkdtempSync } from "node:fs";
import { LabBackend } from "../backends/lab/backend.js";
import { InputError } from "../errors.js";
import { labDown, labUp } from "../lab/lab.js";
import { loadScenarioFile } from "../lab/load-scenario.js";
import { renderDocument, traceRunDocument } from "../render/document.js";
import { demoCaseText } from "../render/lab-text.js";
import type { CommandIO, CommandResult, OutputFormat } from "./command.js";
import { clusterShape } from "./lab.js";
import { resolveTarget } from "../engine/resolve.js";
import { runTraces } from "../engine/trace.js";
import type { GroundTruth, TraceReport, Verdict } from "../model/report.js";
import type { LabState } from "../lab/lab.js";
import { probe, type ProbeProtocol, type ProbeResult } from "../lab/probe.js";

export interface DemoCase {
  readonly title: string;
  readonly src: { readonly namespace: string; readonly name: string };
  readonly dst: { readonly namespace: string; readonly name: string };
  readonly protocol: ProbeProtocol;
  readonly dstPort: number;
}

function groundTruth(r: ProbeResult, verdict: Verdict): GroundTruth {
  const v = r.verdict;
  const agrees =
    v.kind === "delivered"
      ? verdict.kind === "delivered" &&
        verdict.to.kind === "pod" &&
        verdict.to.name === v.pod &&
        verdict.to.namespace === v.namespace
      : v.kind === "not-delivered"
        ? verdict.kind === "dropped"
        : v.kind === verdict.kind;
  const where =
    v.kind === "delivered"
      ? { node: v.node, pod: `${v.namespace}/${v.pod}` }
      : v.kind === "not-delivered" || v.kind === "rejected"
        ? {}
        : { node: v.node };
  const pkt = v.kind === "not-delivered" ? {} : { srcIp: v.packet.src, dstIp: v.packet.dst };
  return { verdict: v.kind, ...where, ...pkt, agrees };
}

/** Traces one pod-to-pod case with the trace engine on the lab, and checks it against a real packet. */
export async function runDemoCase(s: LabState, k: DemoCase): Promise<TraceReport> {
  const real = await probe(s, {
    src: k.src,
    dst: { kind: "pod", ...k.dst },
    protocol: k.protocol,
    dstPort: k.dstPort,
  });
  const backend = new LabBackend(s);
  const resolution = await resolveTarget(backend, {
    src: k.src,
    dst: { kind: "pod", ...k.dst },
    protocol: k.protocol,
    dstPort: k.dstPort,
    family: real.injected.family,
  });
  const [report] = await runTraces(backend, resolution, {
    skipDetrace: true,
    srcPort: real.injected.srcPort,
  });
  if (report === undefined) throw new Error("internal: no report");
  return {
    ...report,
    cluster: { ...report.cluster, name: s.cluster.name },
    forward: { ...report.forward, groundTruth: groundTruth(real, report.forward.verdict) },
  };
}

/** The demo's cases on the default scenario: allowed and policy-dropped traffic across nodes. */
export function defaultDemoCases(s: LabState): DemoCase[] {
  const has = (ns: string, name: string): boolean =>
    s.cluster.pods.some((p) => p.namespace === ns && p.name === name);
  if (!has("default", "client") || !has("default", "web")) return [];
  const src = { namespace: "default", name: "client" };
  const dst = { namespace: "default", name: "web" };
  return [
    {
      title: "pod to pod across nodes, TCP 8080 (allowed by NetworkPolicy default/allow-8080)",
      src,
      dst,
      protocol: "tcp",
      dstPort: 8080,
    },
    {
      title: "pod to pod across nodes, TCP 80 (not allowed by default/allow-8080)",
      src,
      dst,
      protocol: "tcp",
      dstPort: 80,
    },
  ];
}

export interface DemoCommand {
  readonly scenario: string;
  readonly shape?: string;
  /** Leave the lab running afterwards. */
  readonly keep: boolean;
  readonly output: OutputFormat;
}

/**
 * `ovnkube-trace demo`: brings a lab up in a new directory, traces each demo case and injects a real packet
 * for it, and tears the lab down. Fails when a trace and its real packet disagree.
 */
export async function demoCommand(c: DemoCommand, io: CommandIO): Promise<CommandResult> {
  const cluster = loadScenarioFile(c.scenario, clusterShape(c.shape));
  const dir = mkdtempSync("/tmp/ovnkube-trace-demo-");
  io.note(`starting lab "${cluster.name}" (${cluster.shape}) in ${dir}`);
  const { state } = await labUp(cluster, dir, {
    progress: (step, ms) => {
      io.progress(`  \u2713 ${step} (${String(ms)} ms)`);
    },
  });
  const teardown = async (): Promise<string> => {
    if (c.keep) return `lab left running: ovnkube-trace lab status --dir ${dir}`;
    const t = performance.now();
    const n = await labDown(dir);
    return `lab stopped (${String(n)} daemons) in ${String(Math.round(performance.now() - t))} ms`;
  };
  let result: CommandResult;
  try {
    result = await demoCases(c, state);
  } catch (e) {
    io.note(await teardown());
    throw e;
  }
  const last = await teardown();
  if (c.output === "text") return { ...result, output: `${result.output}\n\n${last}` };
  io.note(last);
  return result;
}

/** Every demo case traced and probed, as the command's result (the lab stays up). */
async function demoCases(c: DemoCommand, state: LabState): Promise<CommandResult> {
  const cluster = state.cluster;
  const cases = defaultDemoCases(state);
  if (cases.length === 0)
    throw new InputError("the demo needs pods default/client and default/web in the scenario");
  const reports: TraceReport[] = [];
  for (const k of cases) reports.push(await runDemoCase(state, k));
  const up = `lab "${cluster.name}" (${cluster.shape}, ${String(cluster.nodes.length)} nodes, ${String(state.daemons.length)} daemons) up in ${String(state.timingsMs.total ?? 0)} ms`;
  const output =
    c.output === "text"
      ? [
          up,
          ...cases.map((k, i) => (reports[i] === undefined ? "" : demoCaseText(k.title, reports[i]))),
        ].join("\n")
      : renderDocument(traceRunDocument(reports, false), c.output);
  const disagree = cases.filter((_, i) => reports[i]?.forward.groundTruth?.agrees !== true);
  return disagree.length === 0
    ? { output }
    : { output, failure: `trace and real packet disagree: ${disagree.map((k) => k.title).join("; ")}` };
}
