import { esc } from "./escape.js";
import { TEXT_SIZES } from "./path-svg.js";

/**
 * The shell of a report page: one self-contained file (styles and a small script inline, no fetch of any kind:
 * its Content-Security-Policy forbids them), light or dark after the reader's setting, printable.
 */

const CSS = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --panel: #f6f8fa; --code: #eff2f5;
  --accent: #0969da; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --nat: #8250df; --tunnel: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --panel: #151b23; --code: #1f2630;
    --accent: #4493f8; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --nat: #ab7df8; --tunnel: #4493f8;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 1280px; padding: 1rem 1.5rem 3rem; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif;
}
h1 { font-size: 1.45rem; margin: .4rem 0 .2rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--border); padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
h4 { font-size: .95rem; margin: .9rem 0 .3rem; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--code); padding: .6rem .8rem; border-radius: 6px; overflow: auto; max-height: 36rem; white-space: pre; }
.meta { color: var(--muted); margin: 0 0 .8rem; }
.verdicts { list-style: none; padding: 0; margin: .6rem 0 1rem; }
.verdicts > li { border: 1px solid var(--border); border-left: 6px solid var(--muted); border-radius: 6px; padding: .5rem .8rem; margin: .45rem 0; background: var(--panel); }
.verdicts > li.v-delivered, .verdicts > li.v-left-cluster { border-left-color: var(--ok); }
.verdicts > li.v-dropped, .verdicts > li.v-rejected { border-left-color: var(--bad); }
.verdicts > li.v-unknown { border-left-color: var(--warn); }
.verdict-label { font-weight: 600; }
.verdict-kind { display: inline-block; font-weight: 700; text-transform: uppercase; font-size: .78rem; letter-spacing: .04em; padding: 0 .4rem; border-radius: 4px; border: 1px solid currentColor; margin-right: .4rem; }
.v-delivered .verdict-kind, .v-left-cluster .verdict-kind { color: var(--ok); }
.v-dropped .verdict-kind, .v-rejected .verdict-kind { color: var(--bad); }
.v-unknown .verdict-kind { color: var(--warn); }
.arrival, .ovn-words, .truth { color: var(--muted); margin-top: .15rem; }
.directions { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.directions > figure { flex: 1 1 420px; margin: 0; min-width: 0; }
figure figcaption { font-weight: 600; margin-bottom: .4rem; }
svg.path { max-width: 100%; height: auto; display: block; }
svg.path text { fill: var(--fg); font-size: ${String(TEXT_SIZES.body)}px; font-family: system-ui, "DejaVu Sans", sans-serif; }
svg.path .el-title { font-weight: 700; font-size: ${String(TEXT_SIZES.title)}px; }
svg.path .el rect { fill: var(--panel); stroke: var(--border); stroke-width: 1.2; }
svg.path .el-pod rect, svg.path .el-host rect, svg.path .el-external rect, svg.path .el-service rect { stroke: var(--accent); stroke-width: 1.8; }
svg.path .el-router rect { stroke-dasharray: 0; rx: 14px; }
svg.path .el-exit rect { stroke: var(--ok); stroke-width: 1.8; }
svg.path .el-dropped rect, svg.path .el-rejected rect { stroke: var(--bad); stroke-width: 2.5; fill: color-mix(in srgb, var(--bad) 14%, var(--bg)); }
svg.path .el-dropped .el-title, svg.path .el-rejected .el-title { fill: var(--bad); }
svg.path .el-unknown rect { stroke: var(--warn); stroke-width: 2.5; stroke-dasharray: 5 3; }
svg.path a.el:focus { outline: none; }
svg.path a.el:focus rect, svg.path a.el:hover rect { stroke: var(--accent); stroke-width: 3; }
svg.path .k8s-node rect { fill: color-mix(in srgb, var(--panel) 55%, var(--bg)); stroke: var(--muted); stroke-dasharray: 5 4; }
svg.path .k8s-node-name { font-weight: 700; fill: var(--muted); paint-order: stroke; stroke: var(--bg); stroke-width: 5px; stroke-linejoin: round; }
svg.path .edge { fill: none; stroke: var(--muted); stroke-width: 1.6; }
svg.path .edge.tunnel { stroke: var(--tunnel); stroke-width: 2.4; stroke-dasharray: 7 4; }
svg.path .arrowhead { fill: var(--muted); }
svg.path .edge-label rect { fill: var(--bg); stroke: var(--border); }
svg.path .edge-label text { font-size: ${String(TEXT_SIZES.label)}px; }
svg.path .edge-label .nat { fill: var(--nat); font-weight: 700; }
svg.path .edge-label .tunnel { fill: var(--tunnel); }
ol.path-text { margin: .4rem 0 0; padding-left: 1.4rem; color: var(--muted); font-size: .9rem; }
ol.path-text .nat { color: var(--nat); font-weight: 600; }
ol.path-text .drop { color: var(--bad); font-weight: 700; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; font-size: 12.5px; }
th, td { border: 1px solid var(--border); padding: .2rem .4rem; text-align: left; vertical-align: top; }
th { background: var(--panel); }
td.wrap { word-break: break-all; }
td.match { min-width: 11rem; }
tr.key td { background: color-mix(in srgb, var(--accent) 8%, var(--bg)); }
tr.drop-step td { background: color-mix(in srgb, var(--bad) 16%, var(--bg)); }
.note { color: var(--muted); font-size: 12px; }
.note.detrace { white-space: pre-wrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.summary-table th { width: 9rem; }
section.node { border: 1px solid var(--border); border-radius: 8px; padding: .3rem .9rem .7rem; margin: .8rem 0; }
section.node:target { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent); }
details { margin: .4rem 0; }
details > summary { cursor: pointer; padding: .15rem 0; }
details > summary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
details[open] > summary { font-weight: 600; }
.tag { display: inline-block; font-size: 11px; border: 1px solid var(--border); border-radius: 10px; padding: 0 .45rem; margin-left: .3rem; color: var(--muted); }
.tag.bad { color: var(--bad); border-color: var(--bad); font-weight: 700; }
.controls { margin: .3rem 0 .8rem; }
.controls button { font: inherit; padding: .2rem .7rem; margin-right: .4rem; border: 1px solid var(--border); border-radius: 6px; background: var(--panel); color: var(--fg); cursor: pointer; }
.controls button:focus-visible { outline: 2px solid var(--accent); }
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #444; --border: #999; --panel: #f4f4f4; --code: #f4f4f4; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  .controls { display: none; }
  pre { max-height: none; white-space: pre-wrap; word-break: break-all; }
  figure, .verdicts > li, tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
`;

/** Expand/collapse all, and opening the section a link of the picture (or the address) points at. */
const SCRIPT = `
(() => {
  const openTo = (el) => { for (let e = el; e; e = e.parentElement) if (e.tagName === "DETAILS") e.open = true; };
  const go = () => {
    const id = decodeURIComponent(location.hash.slice(1));
    const t = id === "" ? null : document.getElementById(id);
    if (t) openTo(t);
  };
  addEventListener("hashchange", go);
  go();
  const controls = document.querySelector(".controls");
  if (controls) controls.hidden = false;
  for (const b of document.querySelectorAll("button[data-details]"))
    b.addEventListener("click", () => {
      for (const d of document.querySelectorAll("main details")) d.open = b.dataset.details === "open";
    });
})();
`;

/** A whole page: `title` in the tab, `body` the HTML of <main>. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="ovnkube-trace">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<div class="controls" hidden><button type="button" data-details="open">Expand all</button><button type="button" data-details="close">Collapse all</button></div>
<main>
${body}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
