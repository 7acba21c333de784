import type { Elision, OpenFlowFlow } from "./openflow.js";
import type { ParsedDocument, SourceRef } from "./source.js";

export interface LflowDatapath {
  /** external_ids:name; absent when the datapath has none. */
  readonly name?: string;
  /** external_ids:name2, printed as `"name" aka "name2"`. */
  readonly alias?: string;
  /** As printed (a full UUID; excerpts may shorten it). */
  readonly uuid: string;
}

/**
 * An OpenFlow flow that `ovn-sbctl --ovs lflow-list` prints under its logical flow. Without --stats
 * OVN prints neither the cookie (it is the logical flow's UUID prefix) nor the priority, so both are
 * absent then; with --stats the line is a full dump-flows line.
 */
export type LflowOpenFlow = Omit<OpenFlowFlow, "cookie" | "priority"> & {
  readonly cookie?: string;
  readonly priority?: number;
};

/** `  table=4 (ls_out_acl         ), priority=2001 , match=(...), action=(...)` */
export interface LogicalFlow {
  readonly kind: "lflow";
  readonly source: SourceRef;
  /** `uuid=0x1a2b3c4d, ` prefix (--uuid): the first 32 bits of the Logical_Flow UUID, as printed. */
  readonly uuid?: string;
  readonly table: number;
  /** Stage name without padding ("ls_out_acl"); "" when the flow has none. */
  readonly stage: string;
  readonly priority: number;
  /** Text inside `match=(...)`. */
  readonly match: string;
  /** Text inside `action=(...)`. */
  readonly action: string;
  /** The flows printed under it by `--ovs`; empty otherwise. */
  readonly openflow: readonly LflowOpenFlow[];
}

/** `Datapath: "ovn-worker" (7a3c...)  Pipeline: ingress` and the logical flows under it. */
export interface LflowPipeline {
  readonly kind: "pipeline";
  readonly source: SourceRef;
  readonly datapath: LflowDatapath;
  readonly pipeline: "ingress" | "egress";
  readonly flows: readonly LogicalFlow[];
}

/**
 * `ovn-sbctl [--ovs] [--uuid] lflow-list` output. Each datapath has one section per pipeline.
 * Blank lines are separators: neither records nor `unconsumed`.
 */
export interface LflowListDocument extends ParsedDocument<"lflow-list"> {
  readonly pipelines: readonly LflowPipeline[];
  readonly elisions: readonly Elision[];
}
