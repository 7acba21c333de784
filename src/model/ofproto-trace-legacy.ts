import type { DatapathAction, DatapathActionsLine, TraceFlowLine, TrailerLine } from "./ofproto-trace.js";
import type { MatchField } from "./openflow.js";
import type { ParsedDocument, SourceRef } from "./source.js";

/** `Resubmitted regs: reg0=0x0 reg1=0x0 ...` */
export interface LegacyRegsLine {
  readonly source: SourceRef;
  /** Register → value as printed ("reg0" → "0x0"). */
  readonly values: Readonly<Record<string, string>>;
}

/** `Resubmitted  odp: ...`: the datapath actions composed so far. */
export interface LegacyOdpLine {
  readonly source: SourceRef;
  readonly text: string;
  /** null when the text does not balance (a cut line). */
  readonly actions: readonly DatapathAction[] | null;
}

/** The `Resubmitted flow/regs/odp/megaflow:` lines OVS printed before a lookup that a resubmit caused. */
export interface LegacyResubmitted {
  readonly flow: TraceFlowLine | null;
  readonly regs: LegacyRegsLine | null;
  readonly odp: LegacyOdpLine | null;
  readonly megaflow: TraceFlowLine | null;
}

/** `OpenFlow actions=...`: the actions of the rule above. */
export interface LegacyActionsLine {
  readonly source: SourceRef;
  /** Everything after `OpenFlow actions=`, as printed. */
  readonly text: string;
  /** Split at top-level commas. */
  readonly actions: readonly string[];
  /** False when a parenthesis, bracket or quote is left open (a cut line); `actions` is then best effort. */
  readonly balanced: boolean;
}

/**
 * One table lookup: `Rule: table=N cookie=C MATCH` and its `OpenFlow actions=` line, or `No match`.
 * Lookups caused by a resubmit of this rule's actions are in `items`, one level deeper.
 */
export interface LegacyTableStep {
  readonly kind: "table";
  /** The `Rule:` or `No match` line. */
  readonly source: SourceRef;
  /** How many resubmits deep the lookup is (0: the packet's first lookup), from the indentation. */
  readonly depth: number;
  /** From `table=N`; null for `No match` (the old format does not name the table then). */
  readonly table: number | null;
  /** As printed (`0`, `0x1e50bc0d`); null for `No match`. */
  readonly cookie: string | null;
  /** From `priority=N`; 32768 (OFP_DEFAULT_PRIORITY) when not printed; null for `No match`. */
  readonly priority: number | null;
  /** The rule's match after the cookie, as printed ("" for a catch-all rule); null for `No match`. */
  readonly matchText: string | null;
  /** The match without `priority`, in printed order. */
  readonly match: readonly MatchField[];
  /** True for `No match`. */
  readonly miss: boolean;
  readonly resubmitted: LegacyResubmitted | null;
  readonly actions: LegacyActionsLine | null;
  readonly items: readonly LegacyTraceItem[];
}

/**
 * A line OVS reported while translating (`No match, flow generates "packet in"s.`, `forwarding to learned
 * port`, `no learned MAC for destination, flooding`, ...).
 */
export interface LegacyReport {
  readonly kind: "report";
  readonly source: SourceRef;
  readonly depth: number;
  readonly text: string;
}

export type LegacyTraceItem = LegacyTableStep | LegacyReport;

/** One `ofproto/trace` run: `Bridge:` (OVS 2.1+), `Flow:`, the lookups, `Final flow:`, `Megaflow:`, `Datapath actions:`. */
export interface LegacyTrace {
  /** `Bridge: br-int`; null when not printed (OVS before 2.1). */
  readonly bridge: { readonly source: SourceRef; readonly name: string } | null;
  readonly flow: TraceFlowLine;
  /** The lookups and reports of depth 0, each with what it led to. */
  readonly items: readonly LegacyTraceItem[];
  readonly finalFlow: TraceFlowLine | null;
  /** `Megaflow:` (OVS 2.1+); null when not printed. */
  readonly megaflow: TraceFlowLine | null;
  readonly datapathActions: DatapathActionsLine;
  /** From `Translation failed (...), packet is dropped.`; null when translation succeeded. */
  readonly translationFailure: string | null;
  readonly trailer: readonly TrailerLine[];
}

/**
 * `ovs-appctl ofproto/trace` output in the format before OVS 2.7 (`Bridge:`, `Rule:`, `OpenFlow actions=`,
 * `Resubmitted flow:`, nesting by tab indentation). Several runs pasted one after another are several traces.
 * Blank lines are separators: neither records nor `unconsumed`.
 */
export interface OfprotoTraceLegacyDocument extends ParsedDocument<"ofproto-trace-legacy"> {
  readonly traces: readonly LegacyTrace[];
}
