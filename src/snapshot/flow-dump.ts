/**
 * Turns `ovs-ofctl dump-flows` / `dump-groups` output, as a sos report or a user saved it, into the
 * restorable form of the snapshot: one entry per line, no reply headers, no statistics, so that
 * `ovs-ofctl -O OpenFlow15 --bundle replace-flows` and `add-groups` accept the file as it is.
 */

import { FLOW_FLAGS, PREFIX_KEYS } from "../parsers/dump-flows.js";
import { parseableIpv6Masks } from "./ipv6-masks.js";

/** What a dump becomes, and what had to be left out of it. */
export interface RestorableDump {
  /** The entries, one per line, newline-terminated ("" when there are none). */
  readonly text: string;
  readonly count: number;
  /** Lines that are neither a reply header nor an entry (an error message, a line cut short), trimmed. */
  readonly rejected: readonly string[];
  /** Whether an OpenFlow reply header was seen: an empty table prints only that. */
  readonly sawHeader: boolean;
}

/** `OFPST_FLOW reply (OF1.5) (xid=0x2): flags=[more]`, `NXST_FLOW reply (xid=0x4):`, `OFPST_GROUP_DESC reply ...`. */
const REPLY_HEADER = /^[A-Z][A-Z0-9_]* (?:reply )?(?:\(OF\d+(?:\.\d+)?\) )?\(xid=0x[0-9a-fA-F]+\):/;

/** The prefix keys (PREFIX_KEYS) that are statistics: dropped; flow-mod flags (FLOW_FLAGS) stay. */
const STATISTICS = new Set(["duration", "n_packets", "n_bytes", "idle_age", "hard_age"]);
const PREFIX_ITEM = /([a-z_]+)(=[^\s,]*)?(, | )/y;

/** One flow line without its statistics, or undefined when the line is not a flow. */
export function stripFlowStatistics(trimmed: string): string | undefined {
  let pos = 0;
  let kept = "";
  for (;;) {
    PREFIX_ITEM.lastIndex = pos;
    const m = PREFIX_ITEM.exec(trimmed);
    if (m === null) break;
    const [item, key = "", value, separator] = m;
    if (key === "actions") break;
    const isPrefix = value === undefined ? FLOW_FLAGS.has(key) && separator === " " : PREFIX_KEYS.has(key);
    if (!isPrefix) break;
    if (value === undefined || !STATISTICS.has(key)) kept += item;
    pos = PREFIX_ITEM.lastIndex;
  }
  const rest = trimmed.slice(pos);
  if (!/(?:^|[\s,])actions=/.test(rest)) return undefined;
  return kept + rest;
}

function restorable(dump: string, entry: (trimmed: string) => string | undefined): RestorableDump {
  const entries: string[] = [];
  const rejected: string[] = [];
  let sawHeader = false;
  for (const raw of dump.split("\n")) {
    const trimmed = raw.trim();
    if (trimmed === "") continue;
    if (REPLY_HEADER.test(trimmed)) {
      sawHeader = true;
      continue;
    }
    const e = entry(trimmed);
    if (e === undefined) rejected.push(trimmed);
    else entries.push(e);
  }
  return {
    text: entries.length === 0 ? "" : entries.join("\n") + "\n",
    count: entries.length,
    rejected,
    sawHeader,
  };
}

/** `ovs-ofctl dump-flows` output (with or without statistics) → lines for `replace-flows`. */
export function restorableFlows(dump: string): RestorableDump {
  return restorable(dump, (t) => {
    const flow = stripFlowStatistics(t);
    // a flow ovs-ofctl would not read back may become several lines (ipv6-masks.ts)
    return flow === undefined ? undefined : parseableIpv6Masks(flow).join("\n");
  });
}

/** `ovs-ofctl dump-groups` output → the `group_id=...` lines for `add-groups`. */
export function restorableGroups(dump: string): RestorableDump {
  return restorable(dump, (t) => (t.startsWith("group_id=") ? t : undefined));
}

/**
 * True when the dump is worth keeping: it has entries, or it is a clean empty reply. A file holding only
 * an error message (`ovs-ofctl: br-int is not a bridge or a socket`) or nothing at all is not.
 */
export function isUsableDump(d: RestorableDump): boolean {
  return d.count > 0 || (d.sawHeader && d.rejected.length === 0);
}

/** What messages quote of a dump's rejected lines: the first one (cut to 120 characters), or "empty". */
export function firstRejected(d: RestorableDump): string {
  const first = d.rejected[0];
  return first === undefined ? "empty" : JSON.stringify(first.slice(0, 120));
}

/** Whether any flow sends packets to a meter (they need the meters to be restored too). */
export function flowsUseMeters(restored: string): boolean {
  return /\bactions=(?:.*[,(])?meter:\d/m.test(restored);
}

/** The group ids a flow dump's actions send packets to (`group:N`), sorted, each once. */
export function groupsUsed(flows: string): number[] {
  const ids = new Set<number>();
  for (const m of flows.matchAll(/[=,(]group:(\d+)/g)) ids.add(Number(m[1]));
  return [...ids].sort((a, b) => a - b);
}

/** The `group_id=N` of a groups dump (restorable or as printed), sorted. */
export function groupIds(groups: string): number[] {
  const ids = new Set<number>();
  for (const m of groups.matchAll(/^\s*group_id=(\d+)/gm)) ids.add(Number(m[1]));
  return [...ids].sort((a, b) => a - b);
}

/** Whether any flow hands packets to the NORMAL switch (which needs the MAC table, else it floods). */
export function flowsUseNormal(flows: string): boolean {
  return /\bactions=(?:.*[,(:])?NORMAL\b/m.test(flows);
}

const bitLength = (n: bigint): number => n.toString(2).replace(/^0+/, "").length;

function valueBits(text: string | undefined): number {
  if (text === undefined) return 0;
  try {
    return bitLength(BigInt(text));
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The tunnel metadata fields (`tun_metadataN`, `NXM_NX_TUN_METADATAN`) a flow dump uses, each with the
 * number of bits its uses reach (a bit range's end + 1, a value's or mask's length; 0 for a whole field).
 */
export function tunMetadataUse(flows: string): Map<number, number> {
  const use = new Map<number, number>();
  const note = (index: string | undefined, bits: number): void => {
    const i = Number(index);
    use.set(i, Math.max(use.get(i) ?? 0, bits));
  };
  const num = "(0x[0-9a-fA-F]+|\\d+)";
  // a field with a bit range or a matched value: NXM_NX_TUN_METADATA0[16..30], tun_metadata0=0x2/0x7fff
  const field = new RegExp(
    `\\b(?:tun_metadata|NXM_NX_TUN_METADATA)(\\d+)(?:\\[(\\d+)?(?:\\.\\.(\\d+))?\\]|=${num}(?:/${num})?)?`,
    "g",
  );
  for (const m of flows.matchAll(field)) {
    const [, index, from, to, value, mask] = m;
    const end = to ?? from;
    note(index, Math.max(end === undefined ? 0 : Number(end) + 1, valueBits(value), valueBits(mask)));
  }
  // a value set into a field: set_field:0x2->tun_metadata0, load:0x1->NXM_NX_TUN_METADATA0[]
  const set = new RegExp(
    `(?:set_field|load):${num}(?:/${num})?->(?:tun_metadata|NXM_NX_TUN_METADATA)(\\d+)(?!\\[\\d)`,
    "g",
  );
  for (const m of flows.matchAll(set)) note(m[3], Math.max(valueBits(m[1]), valueBits(m[2])));
  return use;
}

/**
 * OVN's one Geneve option, as ovn-controller maps it on its integration bridge (`OVN_GENEVE_CLASS`,
 * `OVN_GENEVE_TYPE`, `OVN_GENEVE_LEN` in OVN's lib/ovn-util.h): class 0x102, type 0x80, 4 bytes.
 */
export const OVN_GENEVE_OPTION = { class: "0x102", type: "0x80", length: 4 } as const;

/**
 * The tlv-map an OVN integration bridge has, read from its flows' use of tunnel metadata: ovn-controller
 * maps OVN's one Geneve option (OVN_GENEVE_OPTION) to one `tun_metadataN` field, so flows that use one
 * field, within 4 bytes, show the whole map. `none`: the flows use no tunnel metadata (no map needed);
 * `why`: it cannot be read from them.
 */
export function ovnTlvMapFromFlows(
  flows: string,
): { readonly text: string; readonly field: string } | { readonly why: string } | "none" {
  const use = tunMetadataUse(flows);
  if (use.size === 0) return "none";
  const fields = [...use.keys()].sort((a, b) => a - b);
  const [index] = fields;
  if (fields.length > 1 || index === undefined)
    return {
      why: `they use ${fields.map((f) => `tun_metadata${String(f)}`).join(", ")} (OVN maps one)`,
    };
  const bits = use.get(index) ?? 0;
  const o = OVN_GENEVE_OPTION;
  if (bits > o.length * 8)
    return { why: `they use ${String(bits)} bits of tun_metadata${String(index)} (OVN's option has 32)` };
  const field = `tun_metadata${String(index)}`;
  const text = [
    "NXT_TLV_TABLE_REPLY (xid=0x2):",
    " max option space=256 max fields=64",
    ` allocated option space=${String(o.length)}`,
    "",
    " mapping table:",
    "  class  type  length  match field",
    " ------  ----  ------  --------------",
    `  ${o.class.padStart(5)}  ${o.type.padStart(4)}  ${String(o.length).padStart(6)}  ${field}`,
    "",
  ].join("\n");
  return { text, field };
}
