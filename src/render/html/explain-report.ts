import type { DecodedValue, ExplainSummary } from "../../model/explanation.js";
import { explainSummaryRows, formatValue } from "../explain-text.js";
import { esc } from "./escape.js";
import { htmlPage } from "./page.js";
import type { EdgeLabel, ElementKind, PathEdge, PathElement, PathModel } from "./path-model.js";
import { renderPathSvg } from "./path-svg.js";

/**
 * `explain -o html` / `--html FILE`: a pasted trace explained as one self-contained page: the verdict in the
 * words of the text output, the path the trace shows on its node (in port, datapaths, tunnel, out port or
 * drop), the summary, then the trace with every value named and ovn-detrace's annotations, and the raw texts.
 */

export interface ExplainPage {
  readonly input: "ofproto/trace" | "ovn-trace";
  readonly node: string;
  readonly summary: ExplainSummary;
  /** Every line of the input (1-based numbers) with the values decoded on it. */
  readonly lines: readonly {
    readonly line: number;
    readonly text: string;
    readonly values: readonly DecodedValue[];
  }[];
  /** ovn-detrace's annotations by the 0-based input line they come before. */
  readonly annotations?: ReadonlyMap<number, readonly string[]>;
  /** Databases that could not be read, and which values that left unnamed. */
  readonly notes: readonly string[];
  /** ovn-detrace's output for the same input. */
  readonly detrace?: string;
  /** The input as given. */
  readonly text: string;
}

const kindOf = (v: DecodedValue): ElementKind => {
  const kinds = new Set((v.objects ?? []).map((o) => o.kind));
  if (kinds.has("Pod")) return "pod";
  if (kinds.has("Node")) return "host";
  return "service";
};

/** "logical switch ovn-worker2 (pod switch of node ovn-worker2)" → its name, its kind and what it is. */
function datapathElement(id: string, v: DecodedValue, node: string): PathElement {
  const m = /^logical (switch|router) (\S+)(?: \((.*)\))?$/.exec(v.meaning);
  if (m === null) return { id, kind: "switch", title: v.meaning, lines: [`${v.field}=${v.raw}`], node };
  return {
    id,
    kind: m[1] === "router" ? "router" : "switch",
    title: m[2] ?? v.meaning,
    lines: [...(m[3] === undefined ? [`logical ${m[1] ?? ""}`] : [m[3]]), `${v.field}=${v.raw}`],
    node,
  };
}

function portElement(
  id: string,
  v: DecodedValue,
  node: string | undefined,
  extra: string[] = [],
): PathElement {
  const [title = v.meaning, ...rest] = v.meaning.split(" (");
  return {
    id,
    kind: kindOf(v),
    title,
    lines: [
      ...extra,
      v.field === v.raw ? v.raw : `${v.field}=${v.raw}`,
      ...(rest.length === 0 ? [] : [`(${rest.join(" (")}`]),
    ],
    ...(node === undefined ? {} : { node }),
  };
}

/** The explained trace's path, on its one node. */
export function explainPath(p: ExplainPage, prefix: string): PathModel {
  const s = p.summary;
  let n = 0;
  const id = (): string => `${prefix}-e${String(n++)}`;
  const elements: PathElement[] = [];
  if (s.inPort !== undefined) elements.push(portElement(id(), s.inPort, p.node, ["in port"]));
  const firstDatapath = elements.length;
  for (const d of s.datapaths) elements.push(datapathElement(id(), d, p.node));
  const v = s.verdict;
  const tunnelLabels: EdgeLabel[] = s.tunnels.map((t) => ({
    kind: "tunnel",
    text: `geneve tunnel, VNI ${t.vniHex} (${String(t.vni)}) = ${t.datapath.meaning}${t.ports === undefined ? "" : `; ${t.ports.meaning}`}`,
  }));
  if (v.kind === "dropped" || v.kind === "rejected" || v.kind === "unknown")
    elements.push({ id: id(), kind: v.kind, title: v.kind, lines: [v.text], node: p.node });
  else if (v.kind === "tunnel") {
    const t = s.tunnels.at(-1);
    elements.push({
      id: id(),
      kind: "host",
      title:
        t?.remoteNode === undefined ? `tunnel to ${t?.remoteIp ?? "another node"}` : `node ${t.remoteNode}`,
      lines: [v.text],
    });
  } else if (s.outPort !== undefined)
    elements.push(
      portElement(id(), s.outPort, p.node, [v.kind === "left-cluster" ? "left the cluster" : "out port"]),
    );
  else
    elements.push({
      id: id(),
      kind: v.kind === "left-cluster" ? "exit" : "host",
      title: v.kind,
      lines: [v.text],
      node: p.node,
    });
  const edges: PathEdge[] = [];
  for (let i = 0; i + 1 < elements.length; i++) {
    const from = elements[i];
    const to = elements[i + 1];
    if (from === undefined || to === undefined) continue;
    const labels: EdgeLabel[] = [];
    if (s.backend !== undefined && i === firstDatapath)
      labels.push({ kind: "nat", text: `DNAT to ${s.backend.raw} = ${s.backend.meaning}` });
    const last = i + 2 === elements.length;
    if (s.snat !== undefined && last)
      labels.push({ kind: "nat", text: `SNAT to ${s.snat.raw} = ${s.snat.meaning}` });
    const tunnel = last && v.kind === "tunnel";
    if (tunnel) labels.push(...tunnelLabels);
    edges.push({ from: from.id, to: to.id, tunnel, labels });
  }
  const nodes: string[] = [];
  for (const e of elements) if (e.node !== undefined && !nodes.includes(e.node)) nodes.push(e.node);
  return { elements, edges, nodes, segments: [] };
}

function traceBlock(p: ExplainPage): string {
  const byLine = new Map(p.lines.map((l) => [l.line - 1, l.values]));
  const input = p.text.split("\n");
  const out: string[] = [];
  input.forEach((line, i) => {
    for (const a of p.annotations?.get(i) ?? []) out.push(`<span class="ann">${esc(a)}</span>`);
    out.push(esc(line.trimEnd()));
    const values = byLine.get(i);
    if (values === undefined || values.length === 0) return;
    const indent = " ".repeat(line.length - line.trimStart().length + 4);
    out.push(`<span class="dec">${esc(`${indent}[${values.map(formatValue).join("; ")}]`)}</span>`);
  });
  for (const a of p.annotations?.get(input.length) ?? []) out.push(`<span class="ann">${esc(a)}</span>`);
  return `<pre class="explained">${out.join("\n")}</pre>`;
}

const EXTRA_CSS = `<style>
pre.explained .ann { color: var(--muted); }
pre.explained .dec { color: var(--nat); }
</style>`;

export async function renderExplainHtml(p: ExplainPage): Promise<string> {
  const prefix = "x";
  const model = explainPath(p, prefix);
  const svg = await renderPathSvg(model, {
    prefix,
    title: `${p.input} on ${p.node}: ${model.elements.map((e) => e.title).join(" → ")}`,
  });
  const v = p.summary.verdict;
  const values = new Map(p.lines.flatMap((l) => l.values).map((x) => [`${x.field}\0${x.raw}`, x]));
  const named = [...values.values()].filter((x) => x.known).length;
  const title = `ovnkube-trace explain: ${p.input} on ${p.node}`;
  const body = [
    EXTRA_CSS,
    `<header><h1>${esc(title)}</h1><p class="meta">${esc(`${String(p.text.split("\n").length)} lines; ${String(named)} of ${String(values.size)} values named`)}</p></header>`,
    `<section aria-label="verdict"><ul class="verdicts"><li class="v-${v.kind}"><span class="verdict-label">verdict:</span> <span class="verdict-text">${esc(v.text)}</span></li></ul></section>`,
    ...p.notes.map((n) => `<p class="note">note: ${esc(n)}</p>`),
    `<h2>The path</h2><figure class="direction-path" id="${prefix}"><figcaption>${esc(`${p.input} on ${p.node}`)}</figcaption>${svg}</figure>`,
    `<h2>Summary</h2><table class="summary-table"><tbody>${explainSummaryRows(p.summary)
      .map(([k, x]) => `<tr><th>${esc(k)}</th><td>${esc(x)}</td></tr>`)
      .join("")}</tbody></table>`,
    `<h2>The trace</h2>`,
    `<details class="explained"><summary>${esc(`the trace with every value named${p.annotations === undefined ? "" : " and ovn-detrace's annotations"} (${String(p.lines.length)} lines carry values)`)}</summary>${traceBlock(p)}</details>`,
    ...(p.detrace === undefined
      ? []
      : [`<details><summary>ovn-detrace output</summary><pre>${esc(p.detrace)}</pre></details>`]),
    `<details><summary>the input as given</summary><pre>${esc(p.text)}</pre></details>`,
  ];
  return htmlPage(title, body.join("\n"));
}
