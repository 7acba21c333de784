import type { ExplainSummary, ExplainedTrace } from "../model/explanation.js";
import type { DecodedValue } from "../model/explanation.js";

/**
 * `ovnkube-trace explain`'s decoded output: a summary block, then the trace as pasted (indentation kept) with
 * ovn-detrace's annotations after each flow block and, under each line that carries numbers, one line saying
 * what they are: `    [metadata=0x3 = logical switch ovn-worker (...); reg15=0x2 = port default_web (pod default/web)]`.
 */

export function formatValue(v: DecodedValue): string {
  if (v.field === v.raw) return `${v.raw} = ${v.meaning}`;
  const sep = /^[\w.]+$/.test(v.field) ? "=" : " ";
  return `${v.field}${sep}${v.raw} = ${v.meaning}`;
}

export function renderSummary(s: ExplainSummary, title: string): string[] {
  return [`${title}:`, ...explainSummaryRows(s).map(([label, text]) => `  ${`${label}:`.padEnd(13)}${text}`)];
}

/** The rows of an explanation's summary, in the words of the text output. */
export function explainSummaryRows(s: ExplainSummary): [string, string][] {
  const out: [string, string][] = [];
  const row = (label: string, text: string): void => {
    out.push([label, text]);
  };
  if (s.inPort !== undefined) row("in port", formatValue(s.inPort));
  if (s.outPort !== undefined) row("out port", formatValue(s.outPort));
  if (s.datapaths.length > 0) row("datapaths", s.datapaths.map((d) => `${d.raw} = ${d.meaning}`).join(" → "));
  for (const t of s.tunnels) {
    const to = t.remoteNode === undefined ? (t.remoteIp ?? "an unknown node") : `node ${t.remoteNode}`;
    row(
      "tunnel",
      `id ${t.vniHex} (${t.vni}) = ${t.datapath.meaning}, to ${to}${t.remoteIp === undefined || t.remoteNode === undefined ? "" : ` (${t.remoteIp})`}${t.ports === undefined ? "" : `; ${t.ports.meaning}`}`,
    );
  }
  if (s.backend !== undefined) row("LB backend", `${s.backend.raw} = ${s.backend.meaning}`);
  if (s.snat !== undefined) row("SNAT", `${s.snat.raw} = ${s.snat.meaning}`);
  row("verdict", s.verdict.text);
  return out;
}

export interface ExplainTextOptions {
  /** ovn-detrace's annotations by the input line they come before (see detraceAnnotations). */
  readonly annotations?: ReadonlyMap<number, readonly string[]>;
  /** Title of the summary block ("ofproto/trace on ovn-worker2"). */
  readonly title: string;
  /** Notes printed under the summary (databases that could not be read). */
  readonly notes?: readonly string[];
}

export function renderExplained(lines: readonly string[], e: ExplainedTrace, o: ExplainTextOptions): string {
  const out = renderSummary(e.summary, o.title);
  for (const n of o.notes ?? []) out.push(`  note: ${n}`);
  out.push("");
  const decoded = new Map(e.lines.map((l) => [l.index, l.values]));
  lines.forEach((line, i) => {
    out.push(...(o.annotations?.get(i) ?? []), line.trimEnd());
    const values = decoded.get(i);
    if (values === undefined) return;
    const indent = " ".repeat(line.length - line.trimStart().length + 4);
    out.push(`${indent}[${values.map(formatValue).join("; ")}]`);
  });
  out.push(...(o.annotations?.get(lines.length) ?? []));
  return `${out.join("\n")}\n`;
}
