import { verdictSentence } from "./verdict-text.js";
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
 */

export interface TextOptions {
  readonly loglevel: number;
  readonly color: boolean;
}

const TOOL_LABEL: Record<Check["tool"], string> = {
  "ovn-trace": "ovn-trace",
  "ofproto/trace": "ovs-appctl ofproto/trace",
  "ovn-detrace": "ovn-detrace",
};

function names(r: TraceReport): { src: string; dst: string; fwd: string; rev: string } {
  const src = r.src.kind === "pod" ? r.src.name : r.src.ip;
  switch (r.dst.kind) {
    case "pod":
      return {
        src,
        dst: r.dst.name,
        fwd: "source pod to destination pod",
        rev: "destination pod to source pod",
      };
    case "service":
      return {
        src,
        dst: r.dst.name,
        fwd: "from source pod to service clusterIP",
        rev: "service backend to source pod",
      };
    case "external":
      return { src, dst: r.dst.ip, fwd: "pod to IP", rev: "IP to pod" };
    case "node":
      return { src, dst: r.dst.name, fwd: "pod to node", rev: "node to pod" };
  }
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
  return [who, e.ip, e.mac].filter((x) => x !== undefined && x !== "").join(", ") + port;
}

/** The summary block of one direction (printed after the verdicts, at every loglevel). */
export function summaryLines(s: DirectionSummary, label: string): string[] {
  const out = [`summary (${label}):`];
  const row = (k: string, v: string): void => {
    out.push(`  ${`${k}:`.padEnd(13)}${v}`);
  };
  row("source", endpointText(s.source));
  row("destination", endpointText(s.destination));
  const sb = s.serviceBackend;
  if (sb !== undefined)
    row(
      "service",
      `Service ${sb.service.namespace ?? ""}/${sb.service.name} ${sb.vip} → backend ${sb.backend}${sb.pod === undefined ? "" : ` (pod ${sb.pod.namespace ?? ""}/${sb.pod.name})`}`,
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
  row("verdict", s.reason);
  return out;
}

function hopTitle(h: Hop): string {
  return `${h.tool} on ${h.node}${h.zone === undefined ? "" : ` (zone ${h.zone})`} from ${h.startsIn}`;
}

/** Renders one run (one or several reports) as text. */
export function renderGoText(reports: readonly TraceReport[], o: TextOptions): string {
  const green = (s: string): string => (o.color ? `\x1b[32m\x1b[1m${s}\x1b[0m` : s);
  const red = (s: string): string => (o.color ? `\x1b[31m\x1b[1m${s}\x1b[0m` : s);
  const out: string[] = [];
  for (const r of reports) {
    const n = names(r);
    const dirs: [DirectionReport, string, string, string][] = [[r.forward, n.fwd, n.src, n.dst]];
    if (r.reply !== undefined) dirs.push([r.reply, n.rev, n.dst, n.src]);
    for (const tool of ["ovn-trace", "ofproto/trace", "ovn-detrace"] as const) {
      for (const [d, label, from, to] of dirs) {
        const check = d.checks.find((c) => c.tool === tool);
        if (check === undefined) continue;
        if (o.loglevel >= 2) {
          for (const h of d.hops.filter(
            (x) => x.tool === (tool === "ovn-detrace" ? "ofproto/trace" : tool),
          )) {
            if (o.loglevel >= 4)
              out.push(`# ${h.node}: ${h.command.map((a) => (/[\s"'|&]/.test(a) ? `'${a}'` : a)).join(" ")}`);
            out.push(
              `${TOOL_LABEL[tool]} ${label} output (${hopTitle(h)}):`,
              tool === "ovn-detrace" ? (h.detrace?.output ?? "") : h.output,
            );
          }
        }
        const line = `${TOOL_LABEL[tool]} ${label} indicates ${check.success ? "success" : "failure"} from ${from} to ${to}`;
        out.push(check.success ? green(line) : red(line));
        if (!check.success || o.loglevel >= 1) out.push(`  ${check.detail}`);
      }
    }
    for (const [d, label] of dirs) out.push(`verdict (${label}): ${describeVerdict(d.verdict)}`);
    for (const [d, label] of dirs) if (d.summary !== undefined) out.push(...summaryLines(d.summary, label));
  }
  return out.join("\n");
}

/** The first failing check of a run, for the exit status and the last error line. */
export function firstFailure(
  reports: readonly TraceReport[],
): { report: TraceReport; check: Check; direction: string } | undefined {
  for (const r of reports) {
    for (const [d, direction] of [
      [r.forward, "forward"],
      [r.reply, "reply"],
    ] as const) {
      const c = d?.checks.find((x) => !x.success);
      if (c !== undefined) return { report: r, check: c, direction };
    }
  }
  return undefined;
}
