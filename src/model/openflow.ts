import type { ParsedDocument, SourceRef } from "./source.js";

/**
 * The first line of an OpenFlow reply as ovs-ofctl prints it, e.g.
 * `NXST_FLOW reply (xid=0x4): flags=[more]` or `OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):`.
 * A long dump is split into several replies, so a document can hold several headers.
 */
export interface OpenFlowReplyHeader {
  readonly kind: "reply-header";
  readonly source: SourceRef;
  /** "NXST_FLOW", "OFPST_FLOW", "OFPST_GROUP_DESC", "NXT_TLV_TABLE_REPLY", ... */
  readonly message: string;
  /** "OF1.3", "OF1.5"; absent for OpenFlow 1.0, which ovs-ofctl does not name. */
  readonly version?: string;
  /** Transaction id as printed ("0x4"). */
  readonly xid: string;
  /** `flags=[more]`: another reply message follows. */
  readonly more: boolean;
}

/** An author's `...` / `[...]` line in an excerpt: the text between was left out. */
export interface Elision {
  readonly kind: "elision";
  readonly source: SourceRef;
}

/** One item of a flow match: `in_port=5`, `nw_dst=10.0.0.0/8` (value keeps its mask), or a bare `ip`. */
export interface MatchField {
  readonly field: string;
  /** As printed, quotes included (`"patch-breth0_ov"` with --names); absent for keywords like `ip`, `tcp6`. */
  readonly value?: string;
}

/** The `key=value, ` items before the match; all absent in the --no-stats form except those OVS still prints. */
export interface FlowStats {
  readonly durationSeconds?: number;
  readonly nPackets?: number;
  readonly nBytes?: number;
  readonly idleAge?: number;
  readonly hardAge?: number;
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
  readonly importance?: number;
  /** `send_flow_rem`, `check_overlap`, `reset_counts`, `no_packet_counts`, `no_byte_counts`, ... */
  readonly flags: readonly string[];
  /** Any other `key=value, ` item (a newer OVS may print more), in order. */
  readonly other: readonly { readonly key: string; readonly value: string }[];
}

/** Actions as printed plus split at top-level commas (parentheses, brackets and quotes respected). */
export interface FlowActions {
  /** Everything after `actions=`, as printed. */
  readonly actionsText: string;
  /** `["ct(commit,zone=NXM_NX_REG13[0..15],nat(src=1.2.3.4))", "resubmit(,8)"]`. */
  readonly actions: readonly string[];
  /** False when a parenthesis, bracket or quote is left open (a cut or mangled line); `actions` is then best effort. */
  readonly actionsBalanced: boolean;
}

/** One line of `ovs-ofctl dump-flows` (with or without stats). */
export interface OpenFlowFlow extends FlowActions {
  readonly kind: "flow";
  readonly source: SourceRef;
  /** Hex as printed ("0x1e50bc0d"); "0x0" when not printed (--no-stats omits a zero cookie). */
  readonly cookie: string;
  /** Table number, or its name when `--names` printed one; 0 when not printed. */
  readonly table: number | string;
  /** 32768 (OFP_DEFAULT_PRIORITY) when not printed. */
  readonly priority: number;
  /** The match in printed order, without `priority`. */
  readonly match: readonly MatchField[];
  readonly stats: FlowStats;
}

/** Blank lines (as between replies) are separators: neither records nor `unconsumed`. */
export interface DumpFlowsDocument extends ParsedDocument<"dump-flows"> {
  readonly headers: readonly OpenFlowReplyHeader[];
  readonly flows: readonly OpenFlowFlow[];
  readonly elisions: readonly Elision[];
}

export type GroupType = "all" | "select" | "indirect" | "ff" | "unknown";

/** One `bucket=...` of a group. */
export interface GroupBucket extends FlowActions {
  readonly kind: "bucket";
  /** `bucket_id:N`, printed by OpenFlow 1.5 only. */
  readonly id?: number;
  /** As printed, else the OpenFlow default (1 for select groups, 0 otherwise). */
  readonly weight: number;
  /** Port number, or name with --names. */
  readonly watchPort?: string;
  readonly watchGroup?: number;
}

/** One line of `ovs-ofctl dump-groups`. */
export interface OpenFlowGroup {
  readonly kind: "group";
  readonly source: SourceRef;
  readonly id: number;
  readonly type: GroupType;
  /** `dp_hash`, `hash` (OpenFlow 1.5 only). */
  readonly selectionMethod?: string;
  /** Decimal as printed (64-bit). */
  readonly selectionMethodParam?: string;
  /** `fields=ip_dst` or `fields(ip_src,nw_proto)`: the hashed fields. */
  readonly fields: readonly string[];
  readonly buckets: readonly GroupBucket[];
  /** Group properties this parser does not know, in order. */
  readonly other: readonly { readonly key: string; readonly value: string }[];
}

/** Blank lines are separators: neither records nor `unconsumed`. */
export interface DumpGroupsDocument extends ParsedDocument<"dump-groups"> {
  readonly headers: readonly OpenFlowReplyHeader[];
  readonly groups: readonly OpenFlowGroup[];
}

/** The destination of a `ct(...,nat(dst=ADDR[-ADDR][:PORT[-PORT]]))` action: a load-balancer backend. */
export interface NatTarget {
  readonly kind: "dnat";
  /** As printed after `dst=` ("10.244.0.3:53", "[fd00:10:244::3]:53"). */
  readonly text: string;
  readonly family: "ipv4" | "ipv6";
  /** Without brackets. */
  readonly address: string;
  /** Upper end of an address range. */
  readonly addressMax?: string;
  readonly port?: number;
  readonly portMax?: number;
}

/** A row of the `dump-tlv-map` mapping table: Geneve option (class, type, length) → tun_metadataN. */
export interface TlvMapping {
  readonly kind: "tlv-mapping";
  readonly source: SourceRef;
  /** As printed: "0x102", or "0" (printf %#x prints zero without 0x). */
  readonly class: string;
  /** As printed: "0x80", or "0". */
  readonly type: string;
  /** Option length in bytes. */
  readonly length: number;
  /** "tun_metadata0" */
  readonly field: string;
  /** N of tun_metadataN. */
  readonly index: number;
}

export interface TlvLimits {
  readonly kind: "tlv-limits";
  readonly source: SourceRef;
  readonly maxOptionSpace: number;
  readonly maxFields: number;
}

export interface TlvAllocated {
  readonly kind: "tlv-allocated";
  readonly source: SourceRef;
  readonly optionSpace: number;
}

/** Blank lines (one precedes the mapping table) are separators: neither records nor `unconsumed`. */
export interface TlvMapDocument extends ParsedDocument<"tlv-map"> {
  readonly headers: readonly OpenFlowReplyHeader[];
  /** ` max option space=256 max fields=64` */
  readonly limits?: TlvLimits;
  /** ` allocated option space=4` */
  readonly allocated?: TlvAllocated;
  /** ` mapping table:`, the column titles and the dashes under them. */
  readonly tableHeading: readonly SourceRef[];
  readonly mappings: readonly TlvMapping[];
}
