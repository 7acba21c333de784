import { arrivalText, verdictSentence } from "./verdict-text.js";
import type {
  Check,
  DirectionReport,
  DirectionSummary,
  Hop,
  SummaryEndpoint,
  TraceReport,
  Verdict,
} from "../model/report.js";

/**
 * The Go ovnkube-trace's text output, kept line for line at -loglevel 0 ("<step> indicates
 * success from A to B"), with the reason of every failure and a final verdict added; -loglevel 2
 * adds the tools' outputs, 4 the command lines.
 *
 * The contract, as ovn-kubernetes go-controller/cmd/ovnkube-trace/ovnkube-trace.go prints it (read at
 * commit 6c366bb49d6fa57c80d6b39834952ce1d4d9dbb6): the Go tool's stdout holds only these lines, in this
 * order, and it exits at the first failure, so nothing follows a failing line:
 * - pod to pod: ovn-trace "source pod to destination pod", then "(remote) source pod to destination pod"
 *   when the destination is in another interconnect zone and not on the host network; the same two for
 *   "destination pod to source pod" (its "(remote)" line unless the source is on the host network);
 *   ovs-appctl ofproto/trace of both directions; ovn-detrace of both directions unless -skip-detrace.
 * - pod to Service: ovn-trace "source pod to service clusterIP" (to the Service's name) and its "(remote)"
 *   line (to the backend pod), then every pod-to-pod line above with the backend pod as destination.
 * - pod to IP: ovn-trace "from pod to IP", ovs-appctl ofproto/trace "pod to IP", ovn-detrace "pod to
 *   external IP"; no reply, no "(remote)" line.
 * ovn-detrace never prints a failure: when it cannot run, the Go tool says so on stderr and stops.
 * Our additions (failure details, the steps after a failure, verdicts, summaries) come after those lines;
 * `goOnly` leaves them out.
 */

export interface TextOptions {
  readonly loglevel: number;
  readonly color: boolean;
  /**
   * Exactly the Go tool's stdout: its "indicates success/failure" lines up to the first failure, at any
   * loglevel, without our additions (details, tool outputs, the steps after a failure, verdicts, summaries).
   */
  readonly goOnly?: boolean;
}

const TOOL_LABEL: Record<Check["tool"], string> = {
  "ovn-trace": "ovn-trace",
  "ofproto/trace": "ovs-appctl ofproto/trace",
  "ovn-detrace": "ovn-detrace",
};

/** How the Go tool names a run's ends and directions, and our label of each direction. */
interface GoNames {
  readonly src: string;
  /** The destination pod (a Service's backend), IP or node. */
  readonly dst: string;
  /** The Service, for its own line. */
  readonly service?: string;
  /** Each tool's words for the forward direction (they differ only for an IP). */
  readonly fwd: Readonly<Record<Check["tool"], string>>;
  readonly rev: string;
  /** The directions as our verdict and summary lines name them. */
  readonly fwdLabel: string;
  readonly revLabel: string;
}

const sameForAll = (s: string): Record<Check["tool"], string> => ({
  "ovn-trace": s,
  "ofproto/trace": s,
  "ovn-detrace": s,
});

/** What the names of a report's ends and directions depend on (a report with or without its raw outputs). */
type NamedReport = Pick<TraceReport, "src" | "dst"> & {
  readonly forward: Pick<DirectionReport, "summary" | "verdict">;
};

/** The pod a Service trace reached (or was meant to): the summary names it, else a delivered verdict. */
function backendOf(r: NamedReport): { name?: string; node?: string } {
  const s = r.forward.summary;
  const d = s?.destination;
  if (d?.kind === "pod" && d.name !== undefined) return { name: d.name, node: d.node };
  const v = r.forward.verdict;
  if (v.kind === "delivered" && v.to.kind === "pod") return { name: v.to.name, node: v.to.node };
  return s?.serviceBackend?.pod === undefined ? {} : { name: s.serviceBackend.pod.name };
}

function names(r: NamedReport): GoNames {
  const src = r.src.kind === "pod" ? r.src.name : r.src.ip;
  const pods = {
    fwd: sameForAll("source pod to destination pod"),
    rev: "destination pod to source pod",
    revLabel: "destination pod to source pod",
  };
  switch (r.dst.kind) {
    case "pod":
      return { src, dst: r.dst.name, ...pods, fwdLabel: "source pod to destination pod" };
    case "service":
      return {
        src,
        dst: backendOf(r).name ?? r.dst.name,
        service: r.dst.name,
        ...pods,
        fwdLabel: "source pod to service clusterIP",
      };
    case "external":
      return {
        src,
        dst: r.dst.ip,
        fwd: {
          "ovn-trace": "from pod to IP",
          "ofproto/trace": "pod to IP",
          "ovn-detrace": "pod to external IP",
        },
        rev: "IP to pod",
        fwdLabel: "pod to IP",
        revLabel: "IP to pod",
      };
    case "node":
      // not a kind the Go tool traces: our own words
      return {
        src,
        dst: r.dst.name,
        fwd: sameForAll("pod to node"),
        rev: "node to pod",
        fwdLabel: "pod to node",
        revLabel: "node to pod",
      };
  }
}

/** How the verdict and summary lines name a report's two directions ("source pod to destination pod"). */
export function directionLabels(r: NamedReport): { readonly forward: string; readonly reply: string } {
  const n = names(r);
  return { forward: n.fwdLabel, reply: n.revLabel };
}

/** One line the Go tool prints: "<text> indicates success|failure from <from> to <to>". */
interface GoStep {
  readonly direction: "forward" | "reply";
  /** The words before "indicates": "ovn-trace (remote) source pod to destination pod". */
  readonly text: string;
  readonly from: string;
  readonly to: string;
  /** What the line states: the report's check, or the source zone's half of it on interconnect. */
  readonly check: Check;
  /** The hops whose outputs -loglevel 2 prints before the line. */
  readonly hops: readonly Hop[];
  /** Which of a hop's outputs: ovn-detrace's annotation, or the tool's own. */
  readonly detrace: boolean;
  /**
   * A line the Go tool prints from a trace of its own that this run does not make, stated from the trace
   * that covers it: the pod-to-pod ovn-trace lines of a Service trace, from the trace through the Service.
   */
  readonly standIn?: boolean;
}

/** Where a direction goes, for the Go tool's "(remote)" condition and the transit port it expects. */
interface Peer {
  readonly node?: string;
  readonly hostNetwork: boolean;
}

/**
 * A direction's ovn-trace lines. On interconnect, with the destination in another zone (the source zone's
 * ovn-trace left through a remote transit port and the engine traced on in the destination's zone) and
 * not on the host network, the Go tool checks the source zone (output to tstor-<destination node>) and
 * the destination zone ("(remote)": output to the pod) apart; otherwise one line states the whole check.
 */
function logicalSteps(
  d: DirectionReport,
  direction: GoStep["direction"],
  words: string,
  from: string,
  to: { readonly local: string; readonly remote: string },
  peer: Peer | undefined,
): GoStep[] {
  const check = d.checks.find((c) => c.tool === "ovn-trace");
  if (check === undefined) return [];
  const hops = d.hops.filter((h) => h.tool === "ovn-trace");
  const [first, ...rest] = hops;
  const o = first?.outcome;
  const base = { direction, from, detrace: false };
  if (
    peer === undefined ||
    peer.hostNetwork ||
    first === undefined ||
    rest.length === 0 ||
    o?.kind !== "output" ||
    o.portType !== "remote" ||
    !o.port.startsWith("tstor-")
  )
    return [{ ...base, text: `ovn-trace ${words}`, to: to.local, check, hops }];
  const want = peer.node === undefined ? undefined : `tstor-${peer.node}`;
  const got = `output to "${o.port}" (remote) on ${first.node}`;
  const ok = want === undefined || o.port === want;
  const local: Check = {
    tool: "ovn-trace",
    success: ok,
    detail: ok ? got : `expected output to "${want}"; got ${got}`,
  };
  return [
    { ...base, text: `ovn-trace ${words}`, to: to.local, check: local, hops: [first] },
    { ...base, text: `ovn-trace (remote) ${words}`, to: to.remote, check, hops: rest },
  ];
}

/** A direction's ofproto/trace or ovn-detrace line. */
function toolStep(
  d: DirectionReport,
  direction: GoStep["direction"],
  tool: "ofproto/trace" | "ovn-detrace",
  words: string,
  from: string,
  to: string,
): GoStep[] {
  const check = d.checks.find((c) => c.tool === tool);
  if (check === undefined) return [];
  const hops = d.hops.filter((h) => h.tool === "ofproto/trace");
  return [
    {
      direction,
      text: `${TOOL_LABEL[tool]} ${words}`,
      from,
      to,
      check,
      hops,
      detrace: tool === "ovn-detrace",
    },
  ];
}

/** Every line the Go tool prints for one report, in its order, as if none failed. */
function goSteps(r: TraceReport): GoStep[] {
  const n = names(r);
  const fwd = r.forward;
  if (r.dst.kind === "external")
    return [
      ...logicalSteps(fwd, "forward", n.fwd["ovn-trace"], n.src, { local: n.dst, remote: n.dst }, undefined),
      ...toolStep(fwd, "forward", "ofproto/trace", n.fwd["ofproto/trace"], n.src, n.dst),
      ...toolStep(fwd, "forward", "ovn-detrace", n.fwd["ovn-detrace"], n.src, n.dst),
    ];
  const toPod = { local: n.dst, remote: n.dst };
  const dstPeer: Peer =
    r.dst.kind === "pod"
      ? { node: r.dst.node, hostNetwork: r.dst.hostNetwork }
      : r.dst.kind === "service"
        ? { node: backendOf(r).node, hostNetwork: false }
        : { node: r.dst.name, hostNetwork: true };
  const srcPeer: Peer =
    r.src.kind === "pod" ? { node: r.src.node, hostNetwork: r.src.hostNetwork } : { hostNetwork: true };
  const service: GoStep[] =
    n.service === undefined
      ? []
      : logicalSteps(
          fwd,
          "forward",
          "source pod to service clusterIP",
          n.src,
          { local: n.service, remote: n.dst },
          dstPeer,
        );
  const forward = logicalSteps(fwd, "forward", n.fwd["ovn-trace"], n.src, toPod, dstPeer).map((s) =>
    n.service === undefined ? s : { ...s, hops: [], standIn: true },
  );
  const rev = r.reply;
  return [
    ...service,
    ...forward,
    ...(rev === undefined
      ? []
      : logicalSteps(rev, "reply", n.rev, n.dst, { local: n.src, remote: n.src }, srcPeer)),
    ...toolStep(fwd, "forward", "ofproto/trace", n.fwd["ofproto/trace"], n.src, n.dst),
    ...(rev === undefined ? [] : toolStep(rev, "reply", "ofproto/trace", n.rev, n.dst, n.src)),
    ...toolStep(fwd, "forward", "ovn-detrace", n.fwd["ovn-detrace"], n.src, n.dst),
    ...(rev === undefined ? [] : toolStep(rev, "reply", "ovn-detrace", n.rev, n.dst, n.src)),
  ];
}

/** The Go tool prints no ovn-detrace failure: it reports on stderr that it could not run it, and stops. */
const printsGoLine = (s: GoStep): boolean => s.check.success || !s.text.startsWith("ovn-detrace ");

/** How many of the steps the Go tool prints: up to its first failure, that one too unless it prints none. */
function printedCount(steps: readonly GoStep[]): number {
  const i = steps.findIndex((s) => !s.check.success);
  const failed = steps[i];
  return failed === undefined ? steps.length : printsGoLine(failed) ? i + 1 : i;
}

/** The verdict line: the one sentence, and OVN's own words for a drop that the databases explained. */
export function describeVerdict(v: Verdict): string {
  const { text } = verdictSentence(v);
  return v.kind === "dropped" && v.explanation !== undefined ? `${text}\n  OVN: ${v.reason}` : text;
}

function endpointText(e: SummaryEndpoint): string {
  const who =
    e.kind === "pod"
      ? `pod ${e.namespace ?? ""}/${e.name ?? ""}${e.node === undefined ? "" : ` on ${e.node}`}`
      : e.kind === "node"
        ? `node ${e.name ?? ""}`
        : e.kind;
  const port =
    e.ofport === undefined ? "" : `, ofport ${e.ofport}${e.iface === undefined ? "" : ` (${e.iface})`}`;
  const o = e.network?.object;
  const network =
    e.network === undefined || o === undefined
      ? undefined
      : `network ${e.network.name} (${o.kind} ${o.namespace === undefined ? "" : `${o.namespace}/`}${o.name})`;
  return [who, network, e.ip, e.mac].filter((x) => x !== undefined && x !== "").join(", ") + port;
}

/** The summary block of one direction (printed after the verdicts, at every loglevel). */
export function summaryLines(s: DirectionSummary, label: string): string[] {
  return [`summary (${label}):`, ...summaryRows(s).map(([k, v]) => `  ${`${k}:`.padEnd(13)}${v}`)];
}

/** The rows of a direction's summary: what each says, in the words of the text output. */
export function summaryRows(s: DirectionSummary): [string, string][] {
  const out: [string, string][] = [];
  const row = (k: string, v: string): void => {
    out.push([k, v]);
  };
  row("source", endpointText(s.source));
  row("destination", endpointText(s.destination));
  const sb = s.serviceBackend;
  if (sb !== undefined)
    row(
      "service",
      `Service ${sb.service.namespace ?? ""}/${sb.service.name} ${sb.vip} → backend ${sb.backend}${sb.pod === undefined ? "" : ` (pod ${sb.pod.namespace ?? ""}/${sb.pod.name})`}${sb.local === undefined ? "" : `; ${sb.local.policy}=Local: only endpoints on ${sb.local.node} (${String(sb.local.elsewhere)} on other nodes left out)`}`,
    );
  for (const t of s.tunnels) {
    const ports =
      t.ingressPortKey === undefined || t.egressPortKey === undefined
        ? ""
        : `, ports ${t.ingressPort ?? t.ingressPortKey} → ${t.egressPort ?? t.egressPortKey}`;
    row(
      "tunnel",
      `${t.fromNode} → ${t.toNode}${t.remoteIp === undefined ? "" : ` (${t.remoteIp})`}, id ${t.vniHex} (${t.vni}${t.datapath === undefined ? "" : `: ${t.datapath}`})${ports}`,
    );
  }
  if (s.snat !== undefined) row("SNAT", `${s.snat.ip} = ${s.snat.description}`);
  if (s.arrival !== undefined)
    row(s.verdict === "rejected" ? "answer" : "on arrival", arrivalText(s.arrival));
  row("verdict", s.reason);
  return out;
}

function hopTitle(h: Hop): string {
  return `${h.tool} on ${h.node}${h.zone === undefined ? "" : ` (zone ${h.zone})`} from ${h.startsIn}`;
}

/** Renders one run (one or several reports) as text. */
export function renderGoText(reports: readonly TraceReport[], o: TextOptions): string {
  const paint = (ok: boolean, s: string): string =>
    o.color ? `${ok ? "\x1b[32m" : "\x1b[31m"}\x1b[1m${s}\x1b[0m` : s;
  const ours = o.goOnly !== true;
  const out: string[] = [];
  const outputs = (s: GoStep): void => {
    if (!ours || o.loglevel < 2) return;
    for (const h of s.hops) {
      if (o.loglevel >= 4)
        out.push(`# ${h.node}: ${h.command.map((a) => (/[\s"'|&]/.test(a) ? `'${a}'` : a)).join(" ")}`);
      out.push(`${s.text} output (${hopTitle(h)}):`, s.detrace ? (h.detrace?.output ?? "") : h.output);
    }
  };
  const detail = (s: GoStep): string =>
    s.standIn === true
      ? `${s.check.detail} (from the trace through the Service; the Go tool traces the backend's address)`
      : s.check.detail;
  for (const r of reports) {
    const steps = goSteps(r);
    // the Go tool's lines, up to the first failure, where it stops
    const goLines = steps.slice(0, printedCount(steps));
    for (const s of goLines) {
      outputs(s);
      const ok = s.check.success;
      out.push(paint(ok, `${s.text} indicates ${ok ? "success" : "failure"} from ${s.from} to ${s.to}`));
      if (ours && (!ok || o.loglevel >= 1)) out.push(`  ${detail(s)}`);
    }
    if (!ours) continue;
    // what this run found beyond the Go tool's first failure
    const after = steps.slice(goLines.length).filter((s) => s.standIn !== true);
    if (after.length > 0) out.push("not printed by the Go tool (it stops at the first failure):");
    for (const s of after) {
      outputs(s);
      const ok = s.check.success;
      out.push(paint(ok, `  ${s.text}: ${ok ? "success" : "failure"} from ${s.from} to ${s.to}`));
      if (!ok || o.loglevel >= 1) out.push(`    ${s.check.detail}`);
    }
    const n = names(r);
    const dirs: [DirectionReport, string][] = [[r.forward, n.fwdLabel]];
    if (r.reply !== undefined) dirs.push([r.reply, n.revLabel]);
    for (const [d, label] of dirs) out.push(`verdict (${label}): ${describeVerdict(d.verdict)}`);
    for (const [d, label] of dirs) if (d.summary !== undefined) out.push(...summaryLines(d.summary, label));
  }
  return out.join("\n");
}

/**
 * The first failure of a run, where the Go tool stops (its order, its source-zone check on interconnect),
 * for the exit status and the last error line.
 */
export function firstFailure(
  reports: readonly TraceReport[],
): { report: TraceReport; check: Check; direction: string } | undefined {
  for (const r of reports) {
    const s = goSteps(r).find((x) => !x.check.success);
    if (s !== undefined) return { report: r, check: s.check, direction: s.direction };
  }
  return undefined;
}
