import type { ArrivalAddresses, Endpoint, Verdict } from "../../model/report.js";
import type { TraceRun, TraceRunDirection, TraceRunReport } from "../../model/trace-run.js";
import { directionLabels, summaryRows } from "../go-text.js";
import { arrivalText, verdictSentence } from "../verdict-text.js";
import { esc } from "./escape.js";
import { nodeSectionId, nodeSections } from "./node-sections.js";
import { htmlPage } from "./page.js";
import { buildPath, type PathModel } from "./path-model.js";
import { renderPathSvg } from "./path-svg.js";

/**
 * `-o html` / `--html FILE` of a trace: one self-contained page. On top, each direction's verdict in the words
 * of the text output and the packet's addresses on arrival; then each direction's path as a picture (source,
 * every datapath on every node, tunnels, NATs, the drop); then, per node, the OpenFlow and logical details and
 * the tools' raw outputs, collapsed.
 */

const endpointName = (e: Endpoint): string => {
  switch (e.kind) {
    case "pod":
      return `pod ${e.namespace}/${e.name}`;
    case "service":
      return `Service ${e.namespace}/${e.name}`;
    case "node":
      return `node ${e.name}`;
    case "external":
      return e.ip;
  }
};

/** The packet's addresses on arrival (or of the answer, for a reject): the summary's, else the verdict's. */
function arrivalOf(d: TraceRunDirection): ArrivalAddresses | undefined {
  if (d.summary?.arrival !== undefined) return d.summary.arrival;
  const v: Verdict = d.verdict;
  if (v.kind === "delivered" || v.kind === "left-cluster" || v.kind === "rejected")
    return v.srcIp === undefined && v.dstIp === undefined ? undefined : v;
  return undefined;
}

interface Direction {
  readonly report: TraceRunReport;
  readonly d: TraceRunDirection;
  readonly label: string;
  readonly prefix: string;
  readonly which: "forward" | "reply";
}

function directionsOf(r: TraceRunReport, i: number): Direction[] {
  const labels = directionLabels(r);
  const out: Direction[] = [
    { report: r, d: r.forward, label: labels.forward, prefix: `r${String(i)}-fwd`, which: "forward" },
  ];
  if (r.reply !== undefined)
    out.push({ report: r, d: r.reply, label: labels.reply, prefix: `r${String(i)}-rep`, which: "reply" });
  return out;
}

function verdictItem(x: Direction): string {
  const v = x.d.verdict;
  const a = arrivalOf(x.d);
  const gt = x.d.groundTruth;
  return `<li class="v-${v.kind}" data-direction="${x.which}"><span class="verdict-label">verdict (${esc(x.label)}):</span> <span class="verdict-text">${esc(verdictSentence(v).text)}</span>
${v.kind === "dropped" && v.explanation !== undefined ? `<div class="ovn-words">OVN: <code>${esc(v.reason)}</code></div>` : ""}
${a === undefined ? "" : `<div class="arrival"><span class="arrival-label">${v.kind === "rejected" ? "answer" : "on arrival"}:</span> <span class="arrival-text">${esc(arrivalText(a))}</span></div>`}
${gt === undefined ? "" : `<div class="truth">a real packet: ${esc(gt.verdict)}${gt.node === undefined ? "" : ` on ${esc(gt.node)}`}${gt.agrees ? " (agrees)" : " (DISAGREES with the trace)"}</div>`}
</li>`;
}

/** The path as an ordered list: the picture's text alternative, and what prints everywhere. */
function pathList(m: PathModel): string {
  const items = m.elements.map((e) => {
    const out = m.edges.find((x) => x.from === e.id);
    const cls = e.kind === "dropped" || e.kind === "rejected" ? ' class="drop"' : "";
    const where = e.node === undefined ? "" : ` [node ${e.node}]`;
    const labels = (out?.labels ?? []).map((l) => `<div class="${l.kind}">→ ${esc(l.text)}</div>`).join("");
    return `<li data-title="${esc(e.title)}"><span${cls}>${esc(e.title)}</span>${e.lines.length === 0 ? "" : `: ${esc(e.lines.join(", "))}`}${esc(where)}${labels}</li>`;
  });
  return `<ol class="path-text">${items.join("")}</ol>`;
}

function summaryTable(d: TraceRunDirection): string {
  if (d.summary === undefined) return "";
  const rows = summaryRows(d.summary).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`);
  return `<table class="summary-table"><tbody>${rows.join("")}</tbody></table>`;
}

function title(r: TraceRunReport | undefined): string {
  if (r === undefined) return "ovnkube-trace";
  const p = r.forward.packet;
  return `ovnkube-trace: ${endpointName(r.src)} → ${endpointName(r.dst)} (${p.protocol.toUpperCase()}${p.dstPort === undefined ? "" : ` ${String(p.dstPort)}`}, IPv${String(p.family)})`;
}

/** One run (`-o json`'s document) as a page. */
export async function renderTraceRunHtml(run: TraceRun): Promise<string> {
  const reports = run.reports;
  const first = reports[0];
  const dirs = reports.map((r, i) => directionsOf(r, i));
  const paths = await Promise.all(
    dirs.map((ds) =>
      Promise.all(
        ds.map(async (x) => {
          const model = buildPath(x.report, x.d, x.prefix);
          const svg = await renderPathSvg(model, {
            prefix: x.prefix,
            title: `${x.which} path (${x.label}): ${model.elements.map((e) => e.title).join(" → ")}`,
            sectionOf: (node) => nodeSectionId(x.prefix, node),
          });
          return { x, model, svg };
        }),
      ),
    ),
  );
  const cluster =
    first === undefined
      ? ""
      : `${first.cluster.backend === "kube" ? "cluster" : first.cluster.backend}${first.cluster.shape === undefined ? "" : `, ${first.cluster.shape} shape`}${first.cluster.name === undefined ? "" : ` (${first.cluster.name})`}`;
  const body: string[] = [
    `<header><h1>${esc(title(first))}</h1>`,
    `<p class="meta">${esc(`${run.tool.name} ${run.tool.version}; ${cluster}; ${String(reports.length)} report${reports.length === 1 ? "" : "s"}`)}</p></header>`,
    `<section aria-label="verdicts"><ul class="verdicts">${dirs.flat().map(verdictItem).join("\n")}</ul></section>`,
  ];
  reports.forEach((r, i) => {
    const ps = paths[i] ?? [];
    const p = r.forward.packet;
    if (reports.length > 1)
      body.push(
        `<h2 id="r${String(i)}">report ${String(i + 1)} of ${String(reports.length)}: ${esc(endpointName(r.src))} → ${esc(endpointName(r.dst))}${r.forward.summary?.serviceBackend?.pod === undefined ? "" : `, backend pod ${esc(`${r.forward.summary.serviceBackend.pod.namespace ?? ""}/${r.forward.summary.serviceBackend.pod.name}`)}`}</h2>`,
      );
    else body.push(`<h2>The path</h2>`);
    body.push(
      `<p class="meta">${esc(`${p.protocol.toUpperCase()} ${arrivalText({ srcIp: p.srcIp, dstIp: p.dstIp, ...(p.srcPort === undefined ? {} : { srcPort: p.srcPort }), ...(p.dstPort === undefined ? {} : { dstPort: p.dstPort }) })}, conntrack state ${p.ctState}`)}</p>`,
      `<div class="directions">${ps
        .map(
          ({ x, model, svg }) =>
            `<figure class="direction-path" data-direction="${x.which}" id="${esc(x.prefix)}"><figcaption>${esc(`${x.which}: ${x.label}`)}</figcaption>${svg}${pathList(model)}</figure>`,
        )
        .join("\n")}</div>`,
    );
    for (const { x, model } of ps)
      body.push(
        `<h3>${esc(`${x.which} (${x.label}): summary and each node`)}</h3>`,
        summaryTable(x.d),
        nodeSections(x.d, model, x.prefix),
      );
  });
  if (!run.rawOutputs)
    body.push(`<p class="note">The tools' whole outputs were left out of this run's document.</p>`);
  return htmlPage(title(first), body.join("\n"));
}
