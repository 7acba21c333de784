import type { OfprotoTraceDocument } from "./ofproto-trace.js";
import type { OvnTraceDocument } from "./ovn-trace.js";
import type { Hop } from "./report.js";

/**
 * A hop as the engine hands it to the explainers: the report's hop with the tool output it already parsed,
 * so nothing parses it twice. The parsed document stays out of the JSON report.
 */
export interface TracedHop {
  readonly hop: Hop;
  readonly ofproto?: OfprotoTraceDocument;
  readonly ovnTrace?: OvnTraceDocument;
}
