import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import { esc, wrap } from "./escape.js";
import type { PathElement, PathModel } from "./path-model.js";

/**
 * A path drawn as static inline SVG: laid out by ELK's layered algorithm (elkjs, run here at render time, so
 * the page carries no layout code), top to bottom, each Kubernetes node a box around what the packet crossed
 * on it, tunnels and NATs written on the edges.
 */

/** Text sizes (px) and the width of a character, estimated wide enough for common sans-serif fonts. */
const TITLE = { size: 13, char: 8.2, line: 17 };
const BODY = { size: 11.5, char: 7, line: 15 };
const LABEL = { size: 11, char: 6.7, line: 14 };
const PAD = 8;
const ELEMENT_WRAP = 34;
const LABEL_WRAP = 42;

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

interface ElementText {
  readonly title: readonly string[];
  readonly body: readonly string[];
}

const elementText = (e: PathElement): ElementText => ({
  title: wrap(e.kind === "dropped" ? `✕ ${e.title}` : e.title, ELEMENT_WRAP + 4),
  body: e.lines.flatMap((l) => wrap(l, ELEMENT_WRAP)),
});

function elementSize(t: ElementText): { width: number; height: number } {
  const chars = Math.max(
    ...t.title.map((l) => l.length * (TITLE.char / BODY.char)),
    ...t.body.map((l) => l.length),
  );
  return {
    width: Math.max(120, Math.ceil(chars * BODY.char + 2 * PAD + 4)),
    height: Math.ceil(t.title.length * TITLE.line + t.body.length * BODY.line + 2 * PAD),
  };
}

interface LabelLine {
  readonly kind: "nat" | "tunnel";
  readonly text: string;
}

const labelLines = (labels: PathModel["edges"][number]["labels"]): LabelLine[] =>
  labels.flatMap((l) => wrap(l.text, LABEL_WRAP).map((text) => ({ kind: l.kind, text })));

type Elk = { layout: (g: ElkNode) => Promise<ElkNode> };
let elk: Promise<Elk> | undefined;

/** elkjs (its bundled build runs in Node: no worker, no DOM), loaded once and only when a page is drawn. */
async function layoutEngine(): Promise<Elk> {
  // a CommonJS module: its typings' default export is the module's own `default` (the constructor too)
  elk ??= import("elkjs/lib/elk.bundled.js").then((m) => new m.default.default());
  return elk;
}

const groupId = (prefix: string, i: number): string => `${prefix}-g${String(i)}`;

export interface PathSvgOptions {
  /** Unique in the page: ids of the arrow marker and of the title. */
  readonly prefix: string;
  /** Says what the picture shows, for screen readers and as its tooltip. */
  readonly title: string;
  /** The anchor of the section that details each Kubernetes node (elements link to it). */
  readonly sectionOf?: (node: string) => string;
}

/** The path as an `<svg>` element (async: the layout is). */
export async function renderPathSvg(model: PathModel, o: PathSvgOptions): Promise<string> {
  const texts = new Map(model.elements.map((e) => [e.id, elementText(e)]));
  const leaf = (e: PathElement): ElkNode => ({ id: e.id, ...elementSize(texts.get(e.id) ?? elementText(e)) });
  const groups: ElkNode[] = model.nodes.map((node, i) => ({
    id: groupId(o.prefix, i),
    layoutOptions: { "elk.padding": "[top=34,left=14,bottom=14,right=14]" },
    children: model.elements.filter((e) => e.node === node).map(leaf),
  }));
  const labels = new Map(model.edges.map((e, i) => [`${o.prefix}-x${String(i)}`, labelLines(e.labels)]));
  const edges: ElkExtendedEdge[] = model.edges.map((e, i) => {
    const id = `${o.prefix}-x${String(i)}`;
    const lines = labels.get(id) ?? [];
    return {
      id,
      sources: [e.from],
      targets: [e.to],
      ...(lines.length === 0
        ? {}
        : {
            labels: [
              {
                id: `${id}-l`,
                text: lines.map((l) => l.text).join("\n"),
                width: Math.ceil(Math.max(...lines.map((l) => l.text.length)) * LABEL.char + 12),
                height: lines.length * LABEL.line + 8,
              },
            ],
          }),
    };
  });
  const graph: ElkNode = {
    id: `${o.prefix}-root`,
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.json.edgeCoords": "ROOT",
      "elk.json.shapeCoords": "ROOT",
      "elk.edgeLabels.placement": "CENTER",
      "elk.spacing.nodeNode": "24",
      "elk.spacing.edgeLabel": "6",
      "elk.layered.spacing.nodeNodeBetweenLayers": "26",
      "elk.layered.spacing.edgeNodeBetweenLayers": "14",
      "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
      "elk.padding": "[top=8,left=8,bottom=8,right=8]",
    },
    children: [...groups, ...model.elements.filter((e) => e.node === undefined).map(leaf)],
    edges,
  };
  const laid = await (await layoutEngine()).layout(graph);

  const boxes = new Map<string, Box>();
  const visit = (n: ElkNode): void => {
    boxes.set(n.id, { x: n.x ?? 0, y: n.y ?? 0, width: n.width ?? 0, height: n.height ?? 0 });
    for (const c of n.children ?? []) visit(c);
  };
  visit(laid);
  const root = boxes.get(laid.id) ?? { x: 0, y: 0, width: 0, height: 0 };
  const out: string[] = [];
  const W = Math.ceil(root.width);
  const H = Math.ceil(root.height);
  out.push(
    `<svg class="path" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${String(W)} ${String(H)}" width="${String(W)}" height="${String(H)}" role="group" aria-labelledby="${esc(o.prefix)}-svgtitle">`,
    `<title id="${esc(o.prefix)}-svgtitle">${esc(o.title)}</title>`,
    `<defs><marker id="${esc(o.prefix)}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  // drawn in layers: node boxes, edges, node names (over an edge that enters a box), edge labels, steps
  const names: string[] = [];
  model.nodes.forEach((node, i) => {
    const b = boxes.get(groupId(o.prefix, i));
    if (b === undefined) return;
    out.push(
      `<g class="k8s-node" data-node="${esc(node)}"><rect x="${num(b.x)}" y="${num(b.y)}" width="${num(b.width)}" height="${num(b.height)}" rx="10"/></g>`,
    );
    names.push(
      `<text x="${num(b.x + 12)}" y="${num(b.y + 21)}" class="k8s-node-name">node ${esc(node)}</text>`,
    );
  });
  const edgeLabels: string[] = [];
  for (const e of laid.edges ?? []) {
    const edge = model.edges[Number(e.id.slice(`${o.prefix}-x`.length))];
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
      const d = pts.map((p, i) => `${i === 0 ? "M" : "L"}${num(p.x)},${num(p.y)}`).join(" ");
      out.push(
        `<path class="edge${edge?.tunnel === true ? " tunnel" : ""}" d="${d}" marker-end="url(#${esc(o.prefix)}-arrow)"/>`,
      );
    }
    const lines = labels.get(e.id) ?? [];
    const l = e.labels?.[0];
    if (l === undefined || lines.length === 0) continue;
    const x = l.x ?? 0;
    const y = l.y ?? 0;
    edgeLabels.push(
      `<g class="edge-label"><rect x="${num(x)}" y="${num(y)}" width="${num(l.width ?? 0)}" height="${num(l.height ?? 0)}" rx="4"/>`,
      ...lines.map(
        (line, i) =>
          `<text x="${num(x + 6)}" y="${num(y + 4 + (i + 1) * LABEL.line - 3)}" class="${line.kind}">${esc(line.text)}</text>`,
      ),
      "</g>",
    );
  }
  out.push(...names, ...edgeLabels);
  model.elements.forEach((e, seq) => {
    const b = boxes.get(e.id);
    const t = texts.get(e.id);
    if (b === undefined || t === undefined) return;
    const href = e.node === undefined || o.sectionOf === undefined ? undefined : o.sectionOf(e.node);
    const label = [e.title, ...e.lines].join(", ");
    const open =
      href === undefined
        ? `<g class="el el-${e.kind}" data-seq="${String(seq)}" data-kind="${e.kind}" data-title="${esc(e.title)}" tabindex="0" aria-label="${esc(label)}">`
        : `<a class="el el-${e.kind}" href="#${esc(href)}" data-seq="${String(seq)}" data-kind="${e.kind}" data-title="${esc(e.title)}" aria-label="${esc(label)}">`;
    out.push(
      open,
      `<title>${esc(label)}</title>`,
      `<rect x="${num(b.x)}" y="${num(b.y)}" width="${num(b.width)}" height="${num(b.height)}" rx="6"/>`,
    );
    let y = b.y + PAD;
    for (const line of t.title) {
      y += TITLE.line;
      out.push(`<text x="${num(b.x + PAD)}" y="${num(y - 4)}" class="el-title">${esc(line)}</text>`);
    }
    for (const line of t.body) {
      y += BODY.line;
      out.push(`<text x="${num(b.x + PAD)}" y="${num(y - 4)}">${esc(line)}</text>`);
    }
    out.push(href === undefined ? "</g>" : "</a>");
  });
  out.push("</svg>");
  return out.join("\n");
}

const num = (n: number): string => String(Math.round(n * 10) / 10);

export const TEXT_SIZES = { title: TITLE.size, body: BODY.size, label: LABEL.size };
