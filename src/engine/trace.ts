import type { ClusterBackend } from "../cluster/backend.js";
import { detrace } from "../explain/detrace.js";
import { directionSummary } from "../explain/summary.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import { REPORT_SCHEMA_VERSION, type DirectionReport, type Hop, type TraceReport } from "../model/report.js";
import type { Resolution, ResolvedSource } from "../model/target.js";
import type { TracedHop } from "../model/traced-hop.js";
import { VERSION } from "../version.js";
import { databasesOf, traceDirection, type RunContext, type TracedDirection } from "./direction.js";
import { nodeView } from "./openflow-trace.js";
import { incompleteInputs } from "./completeness.js";
import { natEvents, undoNat, type NatEvent } from "./conntrack.js";
import { hairpinReply } from "./hairpin-reply.js";
import { withNode } from "./resolve.js";
import { hostPort } from "../net/ip.js";
import {
  planTraces,
  podEndpoint,
  replyFromOutsideTo,
  replyTo,
  type DirectionPlan,
  type TargetPlan,
  type TraceOptions,
} from "./plan.js";

/**
 * The detrace step, native (explain/detrace.ts prints what ovn-detrace prints): every ofproto/trace
 * hop annotated from its node's zone databases, which are read once per node per run.
 */
async function detraced(run: RunContext, h: TracedHop): Promise<TracedHop> {
  const hop = h.hop;
  if (hop.tool !== "ofproto/trace") return h;
  try {
    const dbs = await databasesOf(run, hop.node);
    return { ...h, hop: { ...hop, detrace: { exitCode: 0, output: detrace(hop.output, dbs) } } };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ...h, hop: { ...hop, detrace: { exitCode: 1, output: "", error } } };
  }
}

/** The detrace check of a direction: which hop could not be annotated, or how many were. */
function detraceCheck(hops: readonly Hop[]): DirectionReport["checks"][number] {
  const failed = hops.find((h) => h.detrace !== undefined && h.detrace.exitCode !== 0);
  const n = hops.filter((h) => h.detrace !== undefined).length;
  return {
    tool: "ovn-detrace",
    success: failed === undefined,
    detail:
      failed === undefined
        ? `${String(n)} hop(s) annotated`
        : `on ${failed.node}: ${failed.detrace?.error ?? ""}`,
  };
}

/** The zone databases this run read (for detrace, drops, SNAT): they name the tunnels' ports in the summaries. */
async function loadedDatabases(run: RunContext): Promise<Map<string, OvnDatabases>> {
  const loaded = new Map<string, OvnDatabases>();
  for (const [node, p] of run.dbs) {
    const v = await p.catch(() => undefined);
    if (v !== undefined) loaded.set(node, v);
  }
  return loaded;
}

/** A direction's final report: detrace annotations and check (unless skipped), then its summary. */
/** The direction's verdict, or unknown when the data its traces used is known to be incomplete (and why). */
async function honest(run: RunContext, t: TracedDirection): Promise<TracedDirection> {
  const problems = await incompleteInputs(run.b, t.hops);
  if (problems.length === 0) return t;
  const v = t.report.verdict;
  const said = v.kind === "unknown" ? v.reason : v.kind;
  const reason = `the data this trace used is incomplete (the traces said: ${said}): ${problems.join("; ")}`;
  return { ...t, report: { ...t.report, verdict: { kind: "unknown", reason } } };
}

async function finish(run: RunContext, traced: TracedDirection, o: TraceOptions): Promise<TracedDirection> {
  const t = await honest(run, traced);
  if (o.skipDetrace === true) return t;
  const hops = await Promise.all(t.hops.map((h) => detraced(run, h)));
  const plain = hops.map((h) => h.hop);
  return {
    ...t,
    hops,
    report: { ...t.report, hops: plain, checks: [...t.report.checks, detraceCheck(plain)] },
  };
}

function summarized(t: TracedDirection, loaded: ReadonlyMap<string, OvnDatabases>): DirectionReport {
  const summary = directionSummary({
    ...t.summary,
    hops: t.hops,
    verdict: t.report.verdict,
    sourcesOf: (node) => loaded.get(node),
  });
  return { ...t.report, summary };
}

/**
 * A connection with an end outside the cluster (a client's NodePort connection, or the reply from outside to a
 * pod's packet that left): the forward direction first, then its reply as its continuation, addressed to where the
 * forward packet came from as it arrived (after the gateway router's SNAT), traced through the conntrack
 * translations the forward one made (the reply's un-SNAT changes where it goes: openflow-trace.ts).
 */
async function traceAcrossTheEdge(
  run: RunContext,
  r: Resolution,
  p: TargetPlan & { readonly reply: DirectionPlan },
): Promise<[TracedDirection, TracedDirection | undefined]> {
  const forward = await traceDirection(run, r, p.forward);
  const v = forward.report.verdict;
  // a packet may leave through a node the request did not name (an EgressIP's egress node): its reply enters there
  const at = v.kind === "left-cluster" ? await withNode(run.b, r, v.node) : r;
  const continued =
    v.kind === "delivered"
      ? replyTo(r, p.reply, v)
      : v.kind === "left-cluster"
        ? replyFromOutsideTo(at, p.reply, v)
        : undefined;
  // the first packet did not get through: no connection for a reply to continue
  if (continued === undefined) return [forward, undefined];
  const events = natEvents(forward.hops);
  const reply = await traceDirection(run, at, continued, events);
  return [forward, withUndoneNat(reply, events)];
}

/**
 * Both directions of one connection, in parallel as planned; the reply is traced again when the forward packet
 * arrived from another address than planned (a hairpin's SNAT), and its addresses on arrival undo the forward
 * translations it passes back through.
 */
async function traceConnection(
  run: RunContext,
  r: Resolution,
  p: TargetPlan,
): Promise<[TracedDirection, TracedDirection | undefined]> {
  if (p.reply !== undefined && (p.forward.from.kind === "external" || p.reply.from.kind === "external"))
    return traceAcrossTheEdge(run, r, { ...p, reply: p.reply });
  const [forward, planned] = await Promise.all([
    traceDirection(run, r, p.forward),
    p.reply === undefined ? undefined : traceDirection(run, r, p.reply),
  ]);
  const v = forward.report.verdict;
  if (p.reply === undefined || planned === undefined || v.kind !== "delivered") return [forward, planned];
  const continued = replyTo(r, p.reply, v);
  const events = natEvents(forward.hops);
  // sent back to an SNAT's address (a NodePort of another node): traced through that SNAT's undoing
  const undo = v.hairpin === undefined ? events : [];
  const reply = continued === p.reply ? planned : await traceDirection(run, r, continued, undo);
  // recognised by the flow the first packet learns, which the traces do not install: continued from the forward's
  if (v.hairpin !== undefined)
    return [forward, await hairpinReply(run, r, continued, forward, reply, { ...v.hairpin, node: v.node })];
  return [forward, withUndoneNat(reply, events)];
}

/**
 * A reply's verdict with the addresses the receiver really sees (the forward translations undone). A reply that
 * leaves the cluster leaves with the source the client sent to (a NodePort: the load balancer's DNAT undone by the
 * gateway router's conntrack): the address it leaves as.
 */
function withUndoneNat(reply: TracedDirection, forward: readonly NatEvent[]): TracedDirection {
  const v = reply.report.verdict;
  if (v.kind === "left-cluster" && v.srcIp !== undefined && v.dstIp !== undefined) {
    const arrival = undoNat({ ...v, srcIp: v.srcIp, dstIp: v.dstIp }, reply.hops, forward);
    if (arrival.srcIp === v.srcIp && arrival.srcPort === v.srcPort) return reply;
    const snat = `the address the client sent to (${hostPort(arrival.srcIp, arrival.srcPort)}): conntrack undid the load balancer's DNAT to ${hostPort(v.srcIp, v.srcPort)}`;
    const left = { ...v, ...arrival, snatIp: arrival.srcIp, snat };
    return { ...reply, report: { ...reply.report, verdict: left } };
  }
  if (v.kind !== "delivered" || v.srcIp === undefined || v.dstIp === undefined) return reply;
  const arrival = undoNat({ ...v, srcIp: v.srcIp, dstIp: v.dstIp }, reply.hops, forward);
  return { ...reply, report: { ...reply.report, verdict: { ...v, ...arrival } } };
}

/** The report's source endpoint: the pod, or the client outside. */
const sourceEndpoint = (s: ResolvedSource) =>
  s.kind === "pod" ? podEndpoint(s) : { kind: "external" as const, ip: s.ip };

/** Traces the connection both ways (for each chosen service backend), every tool run in parallel where independent. */
export async function runTraces(
  b: ClusterBackend,
  r: Resolution,
  o: TraceOptions = {},
): Promise<TraceReport[]> {
  const run: RunContext = { b, views: new Map(), dbs: new Map(), zoneOf: (n) => r.nodes.get(n)?.zone };
  const plans = planTraces(r, o);
  // read the OVS of each node a planned direction starts on, and its zone's databases (for detrace), while the
  // logical traces run
  for (const n of new Set(
    plans.flatMap((p) => [p.forward.from.node, ...(p.reply === undefined ? [] : [p.reply.from.node])]),
  )) {
    void nodeView(b, run.views, n).catch(() => undefined);
    if (o.skipDetrace !== true) void databasesOf(run, n).catch(() => undefined);
  }
  const traced = await Promise.all(
    plans.map(async (p) => {
      const [forward, reply] = await traceConnection(run, r, p);
      return {
        to: p.to,
        forward: await finish(run, forward, o),
        reply: reply === undefined ? undefined : await finish(run, reply, o),
      };
    }),
  );
  const loaded = await loadedDatabases(run);
  return traced.map(({ to, forward, reply }): TraceReport => ({
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: "ovnkube-trace", version: VERSION },
    cluster: { backend: b.kind, shape: r.interconnect ? "interconnect" : "central" },
    src: sourceEndpoint(r.src),
    dst: to,
    forward: summarized(forward, loaded),
    ...(reply === undefined ? {} : { reply: summarized(reply, loaded) }),
  }));
}
