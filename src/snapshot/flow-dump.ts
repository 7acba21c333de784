/**
 * Turns `ovs-ofctl dump-flows` / `dump-groups` output, as a sos report or a user saved it, into the
 * restorable form of the snapshot: one entry per line, no reply headers, no statistics, so that
 * `ovs-ofctl -O OpenFlow15 --bundle replace-flows` and `add-groups` accept the file as it is.
 */

import { FLOW_FLAGS, PREFIX_KEYS } from "../parsers/dump-flows.js";

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
  return restorable(dump, stripFlowStatistics);
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
