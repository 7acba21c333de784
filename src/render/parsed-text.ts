import type { DatapathFlowsDocument } from "../model/datapath-flows.js";
import type { LegacyTraceItem, OfprotoTraceLegacyDocument } from "../model/ofproto-trace-legacy.js";
import type { NbctlShowDocument, SbctlShowDocument } from "../model/ovn-show.js";
import type { ParsedText } from "../model/parsed.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import type { DatapathAction, TraceItem } from "../model/ofproto-trace.js";

/** A few lines that say what a parsed output holds (`ovnkube-trace parse -o text`). */
export function summarizeParsed(doc: ParsedText | OvsdbDatabase): string {
  const lines = [describe(doc)];
  if (doc.kind !== "ovsdb-database" && doc.unconsumed.length > 0) {
    lines.push(`${doc.unconsumed.length} line(s) not understood:`);
    for (const u of doc.unconsumed.slice(0, 10)) lines.push(`  ${u.line}: ${u.text}`);
  }
  return lines.join("\n");
}

function countTables(items: readonly TraceItem[]): number {
  return items.reduce(
    (n, i) => n + (i.kind === "table" ? 1 : 0) + ("items" in i ? countTables(i.items) : 0),
    0,
  );
}

function describe(doc: ParsedText | OvsdbDatabase): string {
  switch (doc.kind) {
    case "ofproto-trace": {
      const out = [
        `ofproto/trace: ${doc.passes.length} pass(es)${doc.detraced ? ", with ovn-detrace annotations" : ""}`,
      ];
      for (const [i, p] of doc.passes.entries()) {
        const steps = p.bridges.reduce((n, b) => n + countTables(b.items), 0);
        out.push(
          `  pass ${i + 1}${p.recirc === null ? "" : ` (recirc ${p.recirc.recircId}, ct_state ${p.recirc.ctState ?? "default"})`}: ` +
            `${steps} table steps in ${p.bridges.map((b) => b.name).join(", ") || "no bridge"}; datapath actions: ${p.datapathActions.text}`,
        );
      }
      return out.join("\n");
    }
    case "ovn-trace": {
      const v = doc.verdict;
      const verdict =
        v.kind === "output"
          ? `output to "${v.port}"${v.portType === undefined ? "" : ` (type ${v.portType})`}`
          : v.kind === "dropped"
            ? `dropped (${v.reason})${v.stage === undefined ? "" : ` in ${v.stage}`}: ${v.message}`
            : `error: ${v.message}`;
      return `ovn-trace (${doc.form}): ${verdict}`;
    }
    case "ovn-trace-set":
      return doc.traces.map(describe).join("\n");
    case "dump-flows": {
      const tables = new Set(doc.flows.map((f) => f.table));
      return `dump-flows: ${doc.flows.length} flows in ${tables.size} tables`;
    }
    case "dump-groups":
      return `dump-groups: ${doc.groups.length} groups (${doc.groups.map((g) => `${g.id}:${g.type}/${g.buckets.length}`).join(" ")})`;
    case "tlv-map":
      return `tlv-map: ${doc.mappings.map((m) => `${m.class}/${m.type}/${m.length} -> ${m.field}`).join(", ") || "no mappings"}`;
    case "lflow-list": {
      const flows = doc.pipelines.reduce((n, p) => n + p.flows.length, 0);
      const dps = new Set(doc.pipelines.map((p) => p.datapath.uuid));
      return `lflow-list: ${flows} logical flows in ${dps.size} datapaths (${doc.pipelines.length} pipelines)`;
    }
    case "ofproto-trace-legacy":
      return describeLegacyTrace(doc);
    case "datapath-flows":
      return describeDatapathFlows(doc);
    case "ovn-nbctl-show":
      return describeNbctlShow(doc);
    case "ovn-sbctl-show":
      return describeSbctlShow(doc);
    case "ovsdb-database": {
      const counts = doc.tableNames
        .map((t) => [t, Object.keys(doc.tables[t] ?? {}).length] as const)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t}=${n}`);
      return `OVSDB ${doc.format} database "${doc.name}" ${doc.version ?? ""}: ${doc.transactions} transactions; rows: ${counts.join(" ")}`;
    }
  }
}

function legacySteps(items: readonly LegacyTraceItem[]): { steps: number; depth: number } {
  let steps = 0;
  let depth = 0;
  for (const item of items) {
    if (item.kind !== "table") continue;
    const inner = legacySteps(item.items);
    steps += 1 + inner.steps;
    depth = Math.max(depth, item.depth, inner.depth);
  }
  return { steps, depth };
}

function describeLegacyTrace(doc: OfprotoTraceLegacyDocument): string {
  const out = [`ofproto/trace (format before OVS 2.7): ${doc.traces.length} run(s)`];
  for (const [i, t] of doc.traces.entries()) {
    const { steps, depth } = legacySteps(t.items);
    out.push(
      `  run ${i + 1}${t.bridge === null ? "" : ` on ${t.bridge.name}`}: ${steps} rule lookups, ${depth} resubmit(s) deep; ` +
        `datapath actions: ${t.datapathActions.text}`,
    );
  }
  return out.join("\n");
}

/** Counts of datapath actions by kind, inside clone() and sample() too. */
function countActions(actions: readonly DatapathAction[], counts: Map<string, number>): void {
  for (const a of actions) {
    const kind = a.kind === "tnl_push" || a.kind === "set_tunnel" ? "tunnel" : a.kind;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    if (a.kind === "clone" || a.kind === "sample") countActions(a.actions, counts);
  }
}

function describeDatapathFlows(doc: DatapathFlowsDocument): string {
  const recircIds = [...new Set(doc.flows.map((f) => f.recircId ?? "-"))];
  const packets = doc.flows.reduce((n, f) => n + f.stats.packets, 0);
  const bytes = doc.flows.reduce((n, f) => n + f.stats.bytes, 0);
  const counts = new Map<string, number>();
  for (const f of doc.flows) countActions(f.actions ?? [], counts);
  const actions = ["output", "drop", "ct", "recirc", "tunnel"]
    .map((k) => `${counts.get(k) ?? 0} ${k}`)
    .join(", ");
  return [
    `datapath flows: ${doc.flows.length} flows${doc.headers.length > 1 ? ` in ${doc.headers.length} dumps` : ""}, ` +
      `${packets} packets, ${bytes} bytes`,
    `  recirculation ids: ${recircIds.join(" ") || "none"}`,
    `  actions: ${actions}`,
  ].join("\n");
}

function describeNbctlShow(doc: NbctlShowDocument): string {
  const out = [`ovn-nbctl show: ${doc.switches.length} switches, ${doc.routers.length} routers`];
  for (const sw of doc.switches) {
    const remote = sw.ports.filter((p) => p.type === "remote").length;
    const localnet = sw.ports.some((p) => p.type === "localnet") ? ", localnet" : "";
    out.push(
      `  switch ${sw.name}: ${sw.ports.length} ports${remote > 0 ? ` (${remote} remote)` : ""}${localnet}`,
    );
  }
  for (const lr of doc.routers) {
    const networks = lr.ports.flatMap((p) => p.networks);
    out.push(
      `  router ${lr.name}: ${lr.ports.length} ports (${networks.join(" ") || "no networks"}), ${lr.nats.length} NAT rules`,
    );
  }
  return out.join("\n");
}

function describeSbctlShow(doc: SbctlShowDocument): string {
  const out = [`ovn-sbctl show: ${doc.chassis.length} chassis`];
  for (const ch of doc.chassis) {
    const encaps = ch.encaps.map((e) => `${e.type} ${e.ip ?? "?"}`).join(", ") || "no encap";
    out.push(`  ${ch.hostname ?? ch.name}: ${encaps}; ${ch.portBindings.length} port bindings`);
  }
  return out.join("\n");
}
