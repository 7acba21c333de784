import type { DatapathAction } from "./ofproto-trace.js";
import type { Elision } from "./openflow.js";
import type { ParsedDocument, SourceRef } from "./source.js";

/**
 * `flow-dump from the main thread:` / `flow-dump from pmd on cpu core: 3`: the userspace datapath dumps its
 * flows thread by thread (the same megaflow may show up under several PMD threads).
 */
export interface DatapathFlowDumpHeader {
  readonly kind: "dump-header";
  readonly source: SourceRef;
  /** The PMD thread's CPU core; null for the main thread (and the non-PMD thread of older OVS). */
  readonly pmdCore: number | null;
}

/** One item of a datapath flow key: `recirc_id(0x2a)`, `eth(src=..,dst=..)`, `ct_state(+new-est+trk)`. */
export interface DatapathMatchField {
  /** The key's name (`recirc_id`, `in_port`, `eth`, `ipv4`, `tunnel`, `ct_state`, ...). */
  readonly key: string;
  /** The text inside the parentheses, as printed (masks kept: `dst=10.244.0.0/255.255.0.0`, `0x21/0x3f`). */
  readonly value: string;
  /**
   * The top-level `name=value` items of the value (`eth(src=a,dst=b)` → `{src: "a", dst: "b"}`, masks kept);
   * empty for a value without any (`recirc_id(0)`, `eth_type(0x0800)`).
   */
  readonly fields: Readonly<Record<string, string>>;
}

/** Conntrack state flags of a datapath flow key: `new`, `est`, `rel`, `rpl`, `inv`, `trk`, `snat`, `dnat`. */
export interface DatapathCtState {
  /** As printed: `+new-est+trk` (flags), or `0x21/0x3f` (hex value/mask, the -m form). */
  readonly text: string;
  /** Flags the flow requires to be set, in OVS's bit order. */
  readonly set: readonly string[];
  /** Flags the flow requires to be clear, in OVS's bit order. */
  readonly unset: readonly string[];
}

/** `packets:12, bytes:1234, used:0.512s, flags:S` */
export interface DatapathFlowStats {
  readonly packets: number;
  readonly bytes: number;
  /** Seconds since a packet last hit the flow; null for `used:never`. */
  readonly usedSeconds: number | null;
  /** TCP flags seen on the flow's packets as printed (`S`, `FP.`, `SR.`); null when none were printed. */
  readonly tcpFlags: string | null;
}

/**
 * One datapath flow (megaflow) as `ovs-appctl dpctl/dump-flows`, `ovs-dpctl dump-flows` or
 * `ovs-appctl dpif/dump-flows BRIDGE` print it, with or without `-m`:
 * `[ufid:UUID, ]KEY(...),KEY(...), packets:N, bytes:N, used:T[, flags:F][, offloaded:X][, dp:X], actions:A
 * [, dp-extra-info:X]`.
 */
export interface DatapathFlow {
  readonly kind: "datapath-flow";
  readonly source: SourceRef;
  /** The flow's unique id (`-m`), as printed without `ufid:`; null when not printed. */
  readonly ufid: string | null;
  /** The flow key in printed order; with `-m` also the fully wildcarded keys (`skb_priority(0/0)`). */
  readonly match: readonly DatapathMatchField[];
  /** `recirc_id(...)` as printed ("0", "0x2a"); null when the key has none. */
  readonly recircId: string | null;
  /** `in_port(...)`: a datapath port number, or its name when names were printed; null when the key has none. */
  readonly inPort: number | string | null;
  readonly ctState: DatapathCtState | null;
  readonly stats: DatapathFlowStats;
  /** `offloaded:yes` / `offloaded:partial` (-m) → "yes" / "partial"; null when not printed. */
  readonly offloaded: string | null;
  /** `dp:ovs`, `dp:tc` (-m) → "ovs", "tc"; null when not printed. */
  readonly dpLayer: string | null;
  /** Everything after `actions:`, as printed. */
  readonly actionsText: string;
  /** The actions, read by the datapath-actions parser; null when the text does not balance (a cut line). */
  readonly actions: readonly DatapathAction[] | null;
  /** `dp-extra-info:miniflow_bits(5,2)` (-m, userspace datapath), without the label; null when not printed. */
  readonly dpExtraInfo: string | null;
  /** Any other `label:value` item between the key and the actions (a newer OVS may print more), in order. */
  readonly other: readonly { readonly key: string; readonly value: string }[];
}

/**
 * Datapath flows: `ovs-appctl dpctl/dump-flows [-m] [--names]`, `ovs-dpctl dump-flows`,
 * `ovs-appctl dpif/dump-flows [-m] BRIDGE`. Blank lines are separators: neither records nor `unconsumed`.
 */
export interface DatapathFlowsDocument extends ParsedDocument<"datapath-flows"> {
  readonly headers: readonly DatapathFlowDumpHeader[];
  readonly flows: readonly DatapathFlow[];
  readonly elisions: readonly Elision[];
}
