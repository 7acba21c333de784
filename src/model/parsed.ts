import type { DatapathFlowsDocument } from "./datapath-flows.js";
import type { LflowListDocument } from "./lflow-list.js";
import type { OfprotoTraceLegacyDocument } from "./ofproto-trace-legacy.js";
import type { OfprotoTraceDocument } from "./ofproto-trace.js";
import type { DumpFlowsDocument, DumpGroupsDocument, TlvMapDocument } from "./openflow.js";
import type { NbctlShowDocument, SbctlShowDocument } from "./ovn-show.js";
import type { OvnTraceDocument } from "./ovn-trace.js";
import type { OvsdbDatabase } from "./ovsdb.js";
import type { ParsedDocument } from "./source.js";

/** Version of the `ovnkube-trace parse -o json` output (schema/parse-output.schema.json). */
export const PARSE_SCHEMA_VERSION = "1.0";

/** Several ovn-trace outputs in one text (`ovn-trace --all`, or runs pasted one after another). */
export interface OvnTraceSetDocument extends ParsedDocument<"ovn-trace-set"> {
  readonly traces: readonly OvnTraceDocument[];
}

export type ParsedText =
  | OfprotoTraceDocument
  | OvnTraceDocument
  | OvnTraceSetDocument
  | DumpFlowsDocument
  | DumpGroupsDocument
  | TlvMapDocument
  | LflowListDocument
  | OfprotoTraceLegacyDocument
  | DatapathFlowsDocument
  | NbctlShowDocument
  | SbctlShowDocument;

/** The kinds `--as` takes (a set of ovn-traces is read as "ovn-trace"). */
export type ParsedKind = Exclude<ParsedText["kind"], "ovn-trace-set"> | "ovsdb-database";

/** Every kind `parse` reads, in the order the registry tries to detect them. */
export const PARSED_KINDS: readonly ParsedKind[] = [
  "ofproto-trace-legacy",
  "ofproto-trace",
  "ovn-trace",
  "lflow-list",
  "dump-groups",
  "tlv-map",
  "dump-flows",
  "datapath-flows",
  "ovn-nbctl-show",
  "ovn-sbctl-show",
  "ovsdb-database",
];

/** What `ovnkube-trace parse -o json` prints. */
export interface ParseOutput {
  readonly schemaVersion: typeof PARSE_SCHEMA_VERSION;
  readonly kind: ParsedText["kind"] | "ovsdb-database";
  /** Where the input came from (a file path, or "-" for stdin). */
  readonly input: string;
  /** Input lines that no record accounts for (0 for a lossless parse; OVSDB files have none). */
  readonly unconsumedLineCount: number;
  readonly document: ParsedText | OvsdbDatabase;
}
