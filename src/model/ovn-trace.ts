import type { ParsedDocument, SourceRef } from "./source.js";

/**
 * `ovn-trace` output (OVN 2.x–24.x), in one of its three forms:
 * - `detailed` (the default): titled sections (`ingress(dp="X", inport="Y")` + dashed underline) holding
 *   numbered stages (` 6. ls_in_pre_stateful (northd.c:6132): reg0[2] == 1, priority 110, uuid bbbfc5f8`)
 *   and their indented actions;
 * - `summary`: the same walk without the stages, as nested `name { ... };` blocks;
 * - `minimal`: only what is externally visible (field changes, `output("port");`, conntrack forks).
 * `error` is an output that holds no trace at all, only ovn-trace's complaint (`unknown datapath "X"`).
 *
 * `ovn-trace --all` prints the three forms one after the other; `parseOvnTraces` returns one document per
 * form (see the parser).
 */
export type OvnTraceForm = "detailed" | "summary" | "minimal" | "error";

export type OvnTraceDocument =
  OvnTraceDetailedDocument | OvnTraceSummaryDocument | OvnTraceMinimalDocument | OvnTraceErrorDocument;

interface OvnTraceDocumentBase extends ParsedDocument<"ovn-trace"> {
  /** The `# <flow>` line ovn-trace echoes first; absent when the text starts after it. */
  readonly microflow?: OvnTraceMicroflow;
  /** `# Detailed trace.` / `# Summary trace.` / `# Minimal trace.`: the banner `--all` puts before each form. */
  readonly banner?: SourceRef;
  /** ovn-trace's own log lines (`2024-...Z|00001|ovntrace|WARN|...`) when stderr was captured too. */
  readonly logLines: readonly OvnTraceLogLine[];
  /** Every place the packet left the logical network (final outputs; patch-port hops are not listed). */
  readonly outputs: readonly OvnTraceOutput[];
  /** Every place a branch of the walk stopped: `drop;`, an implicit no-match drop, a `*** ...` error. */
  readonly drops: readonly OvnTraceDrop[];
  readonly verdict: OvnTraceVerdict;
}

export interface OvnTraceDetailedDocument extends OvnTraceDocumentBase {
  readonly form: "detailed";
  /** The top-level sections, in output order: each pipeline and conntrack fork the packet went through. */
  readonly sections: readonly OvnTraceSection[];
}

export interface OvnTraceSummaryDocument extends OvnTraceDocumentBase {
  readonly form: "summary";
  readonly nodes: readonly OvnTraceNode[];
}

export interface OvnTraceMinimalDocument extends OvnTraceDocumentBase {
  readonly form: "minimal";
  readonly nodes: readonly OvnTraceNode[];
}

export interface OvnTraceErrorDocument extends OvnTraceDocumentBase {
  readonly form: "error";
  readonly error: OvnTraceError;
}

export interface OvnTraceMicroflow {
  /** The flow as printed, without the leading `# `. */
  readonly flow: string;
  /** The leading protocol keyword (`udp`, `tcp6`, `arp`, ...) when there is one. */
  readonly protocol?: string;
  /** `key=value` pairs of the flow (`reg14` → `0x3`, `nw_dst` → `10.244.2.3`). */
  readonly fields: Readonly<Record<string, string>>;
  readonly source: SourceRef;
}

export interface OvnTraceLogLine {
  readonly level: string;
  readonly module: string;
  readonly message: string;
  readonly source: SourceRef;
}

/** What ovn-trace printed instead of a trace. */
export interface OvnTraceError {
  readonly reason: "unknown-datapath" | "unknown-port" | "parse-error" | "no-inport" | "fatal";
  readonly message: string;
  /** The datapath named by `unknown datapath "X"`. */
  readonly datapath?: string;
  /** The port named by `unknown port "X"`. */
  readonly port?: string;
  readonly source: SourceRef;
}

// ---------------------------------------------------------------------------------------------------------
// Detailed form

/** A titled part of a detailed trace: the title line and its dashed underline, then what it holds. */
export interface OvnTraceSection {
  readonly kind: "section";
  /** The title as printed, without indentation. */
  readonly title: string;
  readonly header: OvnTraceHeader;
  /** Column of the title: 0 for the main walk, deeper for the branches of a multicast or a clone. */
  readonly indent: number;
  readonly source: SourceRef;
  readonly underline: SourceRef;
  /**
   * In output order: the stages walked in this section, the actions printed directly under the title (the
   * body of `clone`, `arp`, `icmp4`, ...), and nested sections (the egress branches of a multicast, and the
   * sections a branch leads to).
   */
  readonly steps: readonly OvnTraceSectionStep[];
}

export type OvnTraceSectionStep = OvnTraceStage | OvnTraceAction | OvnTraceSection;

/** What a section title says. */
export type OvnTraceHeader =
  | OvnTracePipelineHeader
  | OvnTraceMulticastHeader
  | OvnTraceConntrackHeader
  | OvnTraceLogHeader
  | OvnTraceSelectHeader
  | OvnTraceTransformationHeader;

/** `ingress(dp="X", inport="Y")`, `egress(dp="X", inport="Y", outport="Z")` (or `egress(dp="X", outport="Z")`). */
export interface OvnTracePipelineHeader {
  readonly kind: "pipeline";
  readonly pipeline: "ingress" | "egress";
  readonly datapath: string;
  readonly inport?: string;
  readonly outport?: string;
}

/** `multicast(dp="X", mcgroup="_MC_flood")`: one egress branch per member port follows. */
export interface OvnTraceMulticastHeader {
  readonly kind: "multicast";
  readonly datapath: string;
  readonly mcgroup: string;
}

/**
 * A conntrack fork: `ct_next(ct_state=new|trk)`, `ct_lb_mark`, `ct_lb`, `ct_dnat(ip4.dst=10.0.0.6)`,
 * `ct_snat /* assuming no un-snat entry, so no change *\/`, `ct_commit_nat`, `ct_commit_to_zone(dnat)`, ...
 */
export interface OvnTraceConntrackHeader {
  readonly kind: "conntrack";
  /** The action name as printed (`ct_next`, `ct_lb_mark`, `ct_snat`, ...). */
  readonly action: string;
  /** `ct_next(ct_state=X)`: the state the walk assumed. */
  readonly ctState?: string;
  /** `ct_dnat(ip4.dst=A)` / `ct_snat(ip6.src=A)`: the translated field and its new value. */
  readonly nat?: { readonly field: string; readonly address: string };
  /** The `/* ... *\/` comments, e.g. `assuming no un-snat entry, so no change`. */
  readonly comments: readonly string[];
  /** True when no `--ct` value was left and ovn-trace assumed `est|trk`. */
  readonly defaultState: boolean;
}

/** `LOG: ACL name=..., direction=IN, verdict=drop, severity=alert, packet="..."` (the ACL `log()` action). */
export interface OvnTraceLogHeader {
  readonly kind: "log";
  readonly name?: string;
  readonly direction?: string;
  readonly verdict?: string;
  readonly severity?: string;
  readonly packet?: string;
}

/** `select: reg8[0..15] = 2 /* Randomly selected. Use --select-id to specify. *\/` (ECMP). */
export interface OvnTraceSelectHeader {
  readonly kind: "select";
  readonly field: string;
  readonly value: number;
  readonly randomlySelected: boolean;
}

/** Any other packet transformation: `clone`, `arp`, `nd_na`, `nd_ns`, `icmp4`, `icmp6`, `tcp_reset`, ... */
export interface OvnTraceTransformationHeader {
  readonly kind: "transformation";
  readonly name: string;
}

/** A stage line and what is printed under it. */
export interface OvnTraceStage {
  readonly kind: "stage";
  /** The logical table number (` 6.` → 6). */
  readonly table: number;
  /** `ls_in_pre_stateful`; absent in outputs of logical flows without a stage name. */
  readonly stageName?: string;
  /** The northd source location in parentheses (`northd.c:6132`), when printed. */
  readonly codeLocation?: string;
  /** The logical flow's match; absent for `no match (implicit drop)`. */
  readonly match?: string;
  readonly priority?: number;
  /** The first 32 bits of the logical flow UUID, as printed (`bbbfc5f8`); absent in OVN 2.x outputs. */
  readonly uuid?: string;
  /** `no match (implicit drop)`: no logical flow matched, the packet is dropped here. */
  readonly noMatch: boolean;
  /** Datapath and pipeline of the section the stage was walked in. */
  readonly datapath?: string;
  readonly pipeline?: "ingress" | "egress";
  readonly source: SourceRef;
  /** `--ovs`: the OpenFlow flows of this logical flow, as ovn-trace printed them (`cookie=0x...`). */
  readonly openflow: readonly SourceRef[];
  /** `--ovs`: `*** no OpenFlow flows` or `*** error obtaining flow stats (...)`. */
  readonly openflowError?: { readonly message: string; readonly source: SourceRef };
  /** The actions, comments, errors and nested sections (`LOG: ...`, a clone) printed under the stage. */
  readonly steps: readonly OvnTraceStageStep[];
}

export type OvnTraceStageStep = OvnTraceAction | OvnTraceSection;

/** One printed action-level line. */
export type OvnTraceAction = OvnTraceActionLine | OvnTraceComment | OvnTraceErrorLine;

/** A logical action as printed (`reg0[2] = 1;`, `next;`, `ct_lb_mark(backends=...);`, `drop;`). */
export interface OvnTraceActionLine {
  readonly kind: "action";
  readonly text: string;
  readonly source: SourceRef;
}

/** A `/* ... *\/` line: `output to "X", type "Y"`, `No MAC binding.`, `omitting output because ...`. */
export interface OvnTraceComment {
  readonly kind: "comment";
  /** The text between `/*` and `*\/`, trimmed. */
  readonly text: string;
  /** Set for `/* output to "X", type "Y" *\/`. */
  readonly output?: { readonly port: string; readonly portType: string };
  readonly source: SourceRef;
}

/** A `*** ...` line: `*** TTL underflow`, `*** no load balancing destination (use --lb-dst)`, ... */
export interface OvnTraceErrorLine {
  readonly kind: "error";
  /** The text after `*** `. */
  readonly message: string;
  readonly source: SourceRef;
}

// ---------------------------------------------------------------------------------------------------------
// Summary and minimal forms

/** A line of a summary or minimal trace. */
export type OvnTraceNode = OvnTraceBlock | OvnTraceAction;

/**
 * `name { ... };` (or a bare `name;` for a fork with nothing printed under it): a pipeline
 * (`ingress(dp="X", inport="Y") {`) or a transformation (`ct_next(ct_state=new|trk) {`, `ct_lb_mark {`).
 */
export interface OvnTraceBlock {
  readonly kind: "block";
  readonly title: string;
  readonly header: OvnTraceHeader;
  readonly source: SourceRef;
  /** The closing `};` line; absent for a bare `name;`. */
  readonly close?: SourceRef;
  readonly children: readonly OvnTraceNode[];
}

// ---------------------------------------------------------------------------------------------------------
// Outcome

/** The packet left the logical network through `port`. */
export interface OvnTraceOutput {
  readonly port: string;
  /** The logical port type (`""` for a VIF, `remote`, `localnet`, ...); unknown in the minimal form. */
  readonly portType?: string;
  /** Datapath of the egress pipeline that output it. */
  readonly datapath?: string;
  readonly source: SourceRef;
}

/** Where and why a branch of the walk stopped without output. */
export interface OvnTraceDrop {
  /**
   * - `drop`: a `drop;` action;
   * - `no-match`: no logical flow matched in a stage (`no match (implicit drop)`);
   * - `error`: ovn-trace stopped with a `*** ...` line (TTL underflow, no LB destination, ...);
   * - `no-output`: the walk ended without output (the last flow did not forward the packet, an output
   *   was omitted because inport == outport, or the form does not show the drop).
   */
  readonly reason: "drop" | "no-match" | "error" | "no-output";
  readonly message: string;
  /** Name of the stage it happened in (`ls_out_acl`; detailed form only), with its table, uuid, priority. */
  readonly stage?: string;
  readonly table?: number;
  readonly uuid?: string;
  readonly priority?: number;
  readonly datapath?: string;
  readonly pipeline?: "ingress" | "egress";
  /** True when the stage is an ACL stage (`ls_out_acl`, `ls_in_acl_eval`, ...): a network policy verdict. */
  readonly acl: boolean;
  /** The line that shows it (the `drop;` action, the stage line, the `***` line); absent when nothing does. */
  readonly source?: SourceRef;
}

export type OvnTraceVerdict = OvnTraceOutputVerdict | OvnTraceDroppedVerdict | OvnTraceErrorVerdict;

/** The walk output the packet; `port` is the last final output (all of them are in `outputs`). */
export interface OvnTraceOutputVerdict extends OvnTraceOutput {
  readonly kind: "output";
}

/** Nothing was output; the last drop point (or the end of the walk) explains why. */
export interface OvnTraceDroppedVerdict extends OvnTraceDrop {
  readonly kind: "dropped";
}

/** ovn-trace could not trace at all (`unknown datapath "X"`, a syntax error in the microflow, ...). */
export interface OvnTraceErrorVerdict {
  readonly kind: "error";
  readonly message: string;
  readonly datapath?: string;
  readonly port?: string;
  readonly source: SourceRef;
}
