import type {
  MatrixCell,
  MatrixDestination,
  MatrixPort,
  MatrixVerdictKind,
  ReachabilityMatrix,
} from "../model/matrix.js";
import type { KubeObjectRef } from "../model/report.js";

/**
 * The reachability matrix as text: the destinations numbered, then one row per source with one mark per
 * destination and port (grouped by destination), a legend, and why: the cells grouped by what decided them
 * (the NetworkPolicies of a default deny or of the rules that allowed, a Service without endpoints), each group
 * with one cell's whole explanation. Pure.
 */

export interface MatrixTextOptions {
  /** ANSI colours (a terminal). */
  readonly color?: boolean;
  /** Example cells shown per group of the "why" section (default 1). */
  readonly examples?: number;
}

export const MARKS: Readonly<Record<MatrixVerdictKind, string>> = {
  allowed: "✓",
  dropped: "✗",
  rejected: "R",
  mixed: "~",
  unknown: "?",
  self: "=",
};
/** A Service's port it does not expose: no cell. */
export const NO_CELL = "·";
/** `--openflow` said otherwise. */
const DISAGREES = "!";

export const LEGEND: readonly [string, string][] = [
  [MARKS.allowed, "allowed"],
  [MARKS.dropped, "dropped"],
  [MARKS.rejected, "rejected (OVN answers the sender)"],
  [MARKS.mixed, "a Service's backends differ"],
  [MARKS.unknown, "unknown"],
  [MARKS.self, "the pod itself (not traced)"],
  [NO_CELL, "the Service has no such port"],
];

const COLORS: Readonly<Partial<Record<MatrixVerdictKind, string>>> = {
  allowed: "\x1b[32m",
  dropped: "\x1b[31m",
  rejected: "\x1b[33m",
  mixed: "\x1b[35m",
  unknown: "\x1b[1;35m",
};

export const portLabel = (p: MatrixPort): string =>
  p.protocol === "icmp" ? "icmp" : `${p.protocol}/${String(p.port)}`;

export const destName = (d: MatrixDestination): string =>
  `${d.kind === "service" ? "service " : ""}${d.namespace}/${d.name}`;

const refName = (o: KubeObjectRef): string =>
  `${o.kind} ${o.namespace === undefined || o.namespace === "" ? "" : `${o.namespace}/`}${o.name}`;

/** The objects that decide a cell, in a stable order (a Namespace of a default deny is implied by its policies). */
function deciding(c: MatrixCell): KubeObjectRef[] {
  return c.objects
    .filter((o) => o.kind !== "Namespace")
    .slice()
    .sort((a, b) => refName(a).localeCompare(refName(b)));
}

/** The kinds of a primary network's objects: what a UDN isolation drop names. */
const USER_DEFINED_NETWORKS: ReadonlySet<string> = new Set([
  "UserDefinedNetwork",
  "ClusterUserDefinedNetwork",
]);

/** One group of the "why" section: what decided, in a few words. */
function groupTitle(c: MatrixCell): string {
  const objs = deciding(c);
  const names = objs.map(refName).join(", ");
  const dir = c.direction === undefined ? "" : `${c.direction} `;
  switch (c.verdict) {
    case "allowed":
      return objs.length === 0 ? "no NetworkPolicy isolates either pod" : `${dir}rules of ${names}`;
    case "dropped":
      if (objs.length > 0 && objs.every((o) => USER_DEFINED_NETWORKS.has(o.kind)))
        return `${dir}isolation of ${names} (its pods' default-network interface)`;
      return objs.length === 0 ? `dropped at ${c.where ?? "?"}` : `${dir}default deny of ${names}`;
    case "rejected":
      return objs.length === 0 ? `rejected at ${c.where ?? "?"}` : `${names} rejects`;
    case "mixed":
      return `backends differ: ${names}`;
    case "unknown":
      return "no verdict";
    case "self":
      return "the pod itself";
  }
}

/** Names and numbers are ASCII (Kubernetes names): their length is their width. */
const pad = (s: string, n: number): string => s.padEnd(n);
const padStart = (s: string, n: number): string => s.padStart(n);

export function renderMatrixText(m: ReachabilityMatrix, o: MatrixTextOptions = {}): string {
  const paint = (k: MatrixVerdictKind, s: string): string => {
    const c = COLORS[k];
    return o.color === true && c !== undefined ? `${c}${s}\x1b[0m` : s;
  };
  const lines: string[] = [];
  const ports = m.ports.map(portLabel);
  lines.push(
    `reachability of ${String(m.sources.length)} source pod(s) to ${String(m.destinations.length)} destination(s) on ${ports.join(", ")}: ${String(m.stats.cells)} cells`,
    `${m.cluster.description}; IPv${String(m.family)}, source port ${String(m.srcPort)}; the first packet of each connection, through OVN's logical pipeline (ovn-trace)${m.method === "ovn-trace+openflow" ? ", confirmed by OpenFlow (ofproto/trace on every node)" : ""}`,
  );
  if (m.sources.length === 0 || m.destinations.length === 0) {
    lines.push("", m.sources.length === 0 ? "no source pod matches" : "no destination matches");
    return `${lines.join("\n")}\n`;
  }
  // destinations, numbered: the columns
  const numWidth = String(m.destinations.length).length;
  const dWidth = Math.max(...m.destinations.map((d) => destName(d).length));
  lines.push("", `destinations (columns; one mark per port: ${ports.join(" ")}):`);
  m.destinations.forEach((d, i) => {
    const where =
      d.kind === "pod"
        ? `${d.ip} on ${d.node}`
        : `${d.ip} (${d.ports.map((p) => ports[p] ?? "?").join(", ")})`;
    lines.push(`  ${padStart(String(i + 1), numWidth)} ${pad(destName(d), dWidth)}  ${where}`);
  });
  // the grid
  const block = Math.max(m.ports.length, numWidth);
  const byCell = new Map<string, MatrixCell>();
  for (const c of m.cells) byCell.set(`${String(c.from)}/${String(c.to)}/${String(c.port)}`, c);
  const corner = "source \\ destination";
  const sWidth = Math.max(...m.sources.map((s) => `${s.namespace}/${s.name}`.length), corner.length);
  lines.push(
    "",
    `${pad(corner, sWidth)}  ${m.destinations.map((_, i) => padStart(String(i + 1), block)).join(" ")}`,
  );
  m.sources.forEach((s, from) => {
    const blocks = m.destinations.map((_, to) => {
      const marks = m.ports.map((_p, port) => {
        const c = byCell.get(`${String(from)}/${String(to)}/${String(port)}`);
        if (c === undefined) return NO_CELL;
        if (c.openflow !== undefined && !c.openflow.agrees) return paint("unknown", DISAGREES);
        return paint(c.verdict, MARKS[c.verdict]);
      });
      return " ".repeat(block - m.ports.length) + marks.join("");
    });
    lines.push(`${pad(`${s.namespace}/${s.name}`, sWidth)}  ${blocks.join(" ")}`);
  });
  const legend = [
    ...LEGEND,
    ...(m.method === "ovn-trace+openflow" ? [[DISAGREES, "OpenFlow disagrees"] as const] : []),
  ];
  lines.push("", `legend: ${legend.map(([mark, what]) => `${mark} ${what}`).join(", ")}`);
  lines.push(...whySection(m, o.examples ?? 1, paint));
  const disagree = m.cells.filter((c) => c.openflow !== undefined && !c.openflow.agrees);
  if (m.method === "ovn-trace+openflow") {
    lines.push(
      "",
      disagree.length === 0
        ? `OpenFlow agrees on every cell (${String(m.stats.fullTraces)} full traces)`
        : `OpenFlow disagrees on ${String(disagree.length)} cell(s):`,
    );
    for (const c of disagree)
      lines.push(
        `  ${cellWords(m, c)}: ovn-trace ${c.verdict}; OpenFlow ${c.openflow?.verdict ?? "?"}: ${c.openflow?.explanation ?? ""}`,
      );
  }
  if (m.skipped.length > 0) {
    lines.push("", "left out:");
    for (const s of m.skipped) lines.push(`  ${s.namespace}/${s.name}: ${s.why}`);
  }
  const counts = (Object.keys(m.counts) as MatrixVerdictKind[])
    .filter((k) => m.counts[k] > 0)
    .map((k) => `${k} ${String(m.counts[k])}`);
  lines.push(
    "",
    `${counts.join(", ")}; ${String(m.stats.cells)} cells in ${(m.stats.elapsedMs / 1000).toFixed(1)} s (${String(m.stats.cellsPerSecond)} cells/s, ${String(m.stats.ovnTraces)} ovn-trace runs${m.stats.fullTraces > 0 ? `, ${String(m.stats.fullTraces)} full traces` : ""})`,
  );
  return `${lines.join("\n")}\n`;
}

/** `shop/debug → api/orders-a1 tcp/8080`. */
export function cellWords(m: ReachabilityMatrix, c: MatrixCell): string {
  const s = m.sources[c.from];
  const d = m.destinations[c.to];
  const p = m.ports[c.port];
  return `${s === undefined ? "?" : `${s.namespace}/${s.name}`} → ${d === undefined ? "?" : destName(d)} ${p === undefined ? "?" : portLabel(p)}`;
}

const ORDER: readonly MatrixVerdictKind[] = ["dropped", "rejected", "mixed", "unknown", "allowed"];

/** The cells grouped by verdict and deciding objects, the largest groups first, each with an example. */
function whySection(
  m: ReachabilityMatrix,
  examples: number,
  paint: (k: MatrixVerdictKind, s: string) => string,
): string[] {
  const groups = new Map<string, { title: string; verdict: MatrixVerdictKind; cells: MatrixCell[] }>();
  for (const c of m.cells) {
    if (c.verdict === "self") continue;
    const title = groupTitle(c);
    const key = `${c.verdict}\n${title}`;
    const g = groups.get(key) ?? { title, verdict: c.verdict, cells: [] };
    g.cells.push(c);
    groups.set(key, g);
  }
  if (groups.size === 0) return [];
  const sorted = [...groups.values()].sort(
    (a, b) => ORDER.indexOf(a.verdict) - ORDER.indexOf(b.verdict) || b.cells.length - a.cells.length,
  );
  const width = Math.max(...sorted.map((g) => String(g.cells.length).length));
  const out = ["", "why (cells by what decided them):"];
  for (const g of sorted) {
    out.push(
      `  ${paint(g.verdict, MARKS[g.verdict])} ${padStart(String(g.cells.length), width)} ${g.verdict}: ${g.title}`,
    );
    for (const c of g.cells.slice(0, examples))
      out.push(`${" ".repeat(width + 5)}e.g. ${cellWords(m, c)}: ${c.explanation}`);
  }
  return out;
}
