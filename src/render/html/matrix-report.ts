import type { MatrixCell, ReachabilityMatrix } from "../../model/matrix.js";
import { cellWords, destName, LEGEND, MARKS, NO_CELL, portLabel } from "../matrix-text.js";
import { esc } from "./escape.js";
import { htmlPage } from "./page.js";

/**
 * The reachability matrix as a heat map: a row per source pod, a column per destination and port, each cell its
 * mark (the same as the text's, so colour never carries the verdict alone) on its verdict's colour, and the whole
 * explanation on hover and focus (its title), in one self-contained page.
 */

const CSS = `
.heat{border-collapse:collapse;font:12px ui-monospace,monospace}
.heat th,.heat td{border:1px solid color-mix(in srgb,currentColor 20%,transparent);padding:2px 4px;text-align:center}
.heat thead th{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:normal}
.heat tbody th{text-align:left;white-space:nowrap;font-weight:normal}
.heat td.allowed{background:#2e7d3255}.heat td.dropped{background:#c6282855}.heat td.rejected{background:#f9a82555}
.heat td.mixed{background:#8e24aa55}.heat td.unknown{background:#8e24aa99}.heat td:focus{outline:2px solid}
`;

function cellHtml(m: ReachabilityMatrix, c: MatrixCell | undefined): string {
  if (c === undefined) return `<td class="none" title="the Service has no such port">${NO_CELL}</td>`;
  const why = `${cellWords(m, c)}: ${c.verdict}. ${c.explanation}`;
  return `<td class="${c.verdict}" tabindex="0" title="${esc(why)}" data-verdict="${c.verdict}">${esc(MARKS[c.verdict])}</td>`;
}

export function renderMatrixHtml(m: ReachabilityMatrix): string {
  const byKey = new Map(m.cells.map((c) => [`${String(c.from)}/${String(c.to)}/${String(c.port)}`, c]));
  const columns = m.destinations.flatMap((d, to) =>
    m.ports.map((p, port) => ({ to, port, label: `${destName(d)} ${portLabel(p)}` })),
  );
  const head = `<tr><th></th>${columns.map((c) => `<th scope="col">${esc(c.label)}</th>`).join("")}</tr>`;
  const rows = m.sources.map(
    (s, from) =>
      `<tr><th scope="row">${esc(`${s.namespace}/${s.name}`)}</th>${columns
        .map((c) => cellHtml(m, byKey.get(`${String(from)}/${String(c.to)}/${String(c.port)}`)))
        .join("")}</tr>`,
  );
  const counts = Object.entries(m.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${String(n)} ${k}`)
    .join(", ");
  const body = `<style>${CSS}</style>
<h1>Reachability matrix</h1>
<p class="summary">${esc(`${String(m.stats.cells)} cells (${counts}) on ${m.cluster.description}, ${m.method}, source port ${String(m.srcPort)}`)}</p>
<p class="legend">${LEGEND.map(([mark, what]) => `<span>${esc(mark)} ${esc(what)}</span>`).join(" · ")}; hover or focus a cell for why.</p>
<div class="scroll"><table class="heat"><thead>${head}</thead><tbody>${rows.join("\n")}</tbody></table></div>`;
  return htmlPage("ovnkube-trace reachability matrix", body);
}
