import type { ParsedText } from "../model/parsed.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import type { TraceItem } from "../model/ofproto-trace.js";

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
    case "ovsdb-database": {
      const counts = doc.tableNames
        .map((t) => [t, Object.keys(doc.tables[t] ?? {}).length] as const)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t}=${n}`);
      return `OVSDB ${doc.format} database "${doc.name}" ${doc.version ?? ""}: ${doc.transactions} transactions; rows: ${counts.join(" ")}`;
    }
  }
}
