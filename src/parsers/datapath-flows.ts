import type {
  DatapathCtState,
  DatapathFlow,
  DatapathFlowDumpHeader,
  DatapathFlowStats,
  DatapathFlowsDocument,
  DatapathMatchField,
} from "../model/datapath-flows.js";
import type { Elision } from "../model/openflow.js";
import type { SourceRef } from "../model/source.js";
import { datapathActionsOrNull } from "./datapath-actions.js";
import { headLines, isElisionLine, locate, readLines, splitTopLevelCommas, topLevelBreaks } from "./text.js";
import { ParseError } from "../errors.js";

const COMMA = 0x2c;
const SPACE = 0x20;

/** `flow-dump from the main thread:`, `flow-dump from pmd on cpu core: 3`, `flow-dump from non-dpdk interfaces:`. */
const DUMP_HEADER_RE = /^flow-dump from (?:pmd on cpu core: (\d+)|the main thread:|non-dpdk interfaces:)$/;
/** `ufid:d6cd28c3-29fb-4417-926e-57bf92c5c0fb, ` (dpctl) or `ufid:... ` (dpif/dump-flows). */
const UFID_RE = /^ufid:([0-9a-fA-F-]+|<empty>)(?:, | )/;
const KEY_RE = /^([A-Za-z_][\w]*)\(([\s\S]*)\)$/;
const UINT_RE = /^\d+$/;
const USED_RE = /^(-?\d+(?:\.\d+)?)s$/;
const HEX_STATE_RE = /^(0x[0-9a-fA-F]+|\d+)(?:\/(0x[0-9a-fA-F]+|\d+))?$/;
const FLAG_STATE_RE = /^(?:[+-][a-z]+)+$/;
/** A line that can only be meant as a datapath flow: its failure to parse is a cut or mangled flow. */
const FLOW_LINE_RE = /^(?:ufid:\S+,? )?[A-Za-z_]\w*\(.*, packets:/;

/** OVS_CS_F_* bits, lowest first, with the names `ct_state(...)` prints (lib/odp-util.c). */
const CT_STATE_BITS = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"] as const;

/** The text split at top-level `, ` (a comma followed by a space, outside parentheses and quotes). */
function splitTopLevelCommaSpace(text: string): string[] {
  const { breaks } = topLevelBreaks(text, COMMA);
  const parts: string[] = [];
  let start = 0;
  for (const end of breaks) {
    if (text.charCodeAt(end + 1) !== SPACE) continue;
    parts.push(text.slice(start, end));
    start = end + 2;
  }
  parts.push(text.slice(start));
  return parts;
}

/** `a=1,b=c(d=e),f` → `{a: "1", b: "c(d=e)"}` (bare items left out). */
function fieldsOf(value: string): Record<string, string> {
  const fields: [string, string][] = [];
  for (const part of splitTopLevelCommas(value).parts) {
    const eq = part.indexOf("=");
    const paren = part.indexOf("(");
    if (eq > 0 && (paren === -1 || eq < paren)) fields.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  // fromEntries: a key such as `__proto__` stays a plain property.
  return Object.fromEntries(fields);
}

function parseKey(text: string): DatapathMatchField[] | string {
  const { parts, balanced } = splitTopLevelCommas(text);
  if (!balanced) return "unbalanced parentheses in the flow key";
  const match: DatapathMatchField[] = [];
  for (const part of parts) {
    const m = KEY_RE.exec(part);
    if (m === null) return `bad key item ${JSON.stringify(part)}`;
    const value = m[2] ?? "";
    match.push({ key: m[1] ?? "", value, fields: fieldsOf(value) });
  }
  return match.length === 0 ? "empty flow key" : match;
}

/** `+new-est+trk`, or the -m form `0x21/0x3f` (value/mask of the OVS_CS_F_* bits). */
export function parseCtState(text: string): DatapathCtState {
  const set: string[] = [];
  const unset: string[] = [];
  const hex = HEX_STATE_RE.exec(text);
  if (hex !== null) {
    const value = Number(hex[1]);
    const mask = hex[2] === undefined ? 0xff : Number(hex[2]);
    CT_STATE_BITS.forEach((name, bit) => {
      const flag = 1 << bit;
      if ((mask & flag) === 0) return;
      ((value & flag) !== 0 ? set : unset).push(name);
    });
  } else if (FLAG_STATE_RE.test(text)) {
    for (const m of text.matchAll(/([+-])([a-z]+)/g)) (m[1] === "+" ? set : unset).push(m[2] ?? "");
  }
  return { text, set, unset };
}

interface Trailer {
  stats: { packets?: number; bytes?: number; usedSeconds?: number | null; tcpFlags: string | null };
  offloaded: string | null;
  dpLayer: string | null;
  actionsText: string | null;
  dpExtraInfo: string | null;
  other: { key: string; value: string }[];
}

/** The `label:value` items after the key; returns why they are malformed, if they are. */
function readTrailer(items: readonly string[]): Trailer | string {
  const t: Trailer = {
    stats: { tcpFlags: null },
    offloaded: null,
    dpLayer: null,
    actionsText: null,
    dpExtraInfo: null,
    other: [],
  };
  for (const [i, item] of items.entries()) {
    const colon = item.indexOf(":");
    if (colon <= 0) return `bad item ${JSON.stringify(item)}`;
    const label = item.slice(0, colon);
    const value = item.slice(colon + 1);
    if (label === "actions") {
      // The actions run to the end, but for a trailing `, dp-extra-info:...` (-m).
      const rest = items.slice(i);
      const extra = rest.findIndex((r, k) => k > 0 && r.startsWith("dp-extra-info:"));
      const actionItems = extra === -1 ? rest : rest.slice(0, extra);
      t.actionsText = actionItems.join(", ").slice("actions:".length);
      if (extra !== -1) t.dpExtraInfo = rest.slice(extra).join(", ").slice("dp-extra-info:".length);
      return t;
    }
    const problem = applyTrailerItem(t, label, value);
    if (problem !== undefined) return problem;
  }
  return t;
}

function applyTrailerItem(t: Trailer, label: string, value: string): string | undefined {
  switch (label) {
    case "packets":
    case "bytes":
      if (!UINT_RE.test(value)) return `bad ${label} ${JSON.stringify(value)}`;
      t.stats[label] = Number(value);
      return undefined;
    case "used": {
      const used = USED_RE.exec(value);
      if (value !== "never" && used === null) return `bad used ${JSON.stringify(value)}`;
      t.stats.usedSeconds = used === null ? null : Number(used[1]);
      return undefined;
    }
    case "flags":
      t.stats.tcpFlags = value;
      return undefined;
    case "offloaded":
      t.offloaded = value;
      return undefined;
    case "dp":
      t.dpLayer = value;
      return undefined;
    default:
      t.other.push({ key: label, value });
      return undefined;
  }
}

function inPortOf(value: string | undefined): number | string | null {
  if (value === undefined) return null;
  return UINT_RE.test(value) ? Number(value) : value;
}

/** One datapath flow line (leading blanks removed); returns why it is malformed instead of throwing. */
export function parseDatapathFlowLine(trimmed: string, source: SourceRef): DatapathFlow | string {
  const ufidMatch = UFID_RE.exec(trimmed);
  const body = ufidMatch === null ? trimmed : trimmed.slice(ufidMatch[0].length);
  // An unbalanced key leaves no break after it (so it fails below); unbalanced actions keep their text.
  const [keyText = "", ...rest] = splitTopLevelCommaSpace(body);
  const match = parseKey(keyText);
  if (typeof match === "string") return match;
  const trailer = readTrailer(rest);
  if (typeof trailer === "string") return trailer;
  const { packets, bytes, usedSeconds, tcpFlags } = trailer.stats;
  if (packets === undefined || bytes === undefined || usedSeconds === undefined) {
    return "no packets:/bytes:/used: counters";
  }
  if (trailer.actionsText === null) return "no actions:";
  const stats: DatapathFlowStats = { packets, bytes, usedSeconds, tcpFlags };
  const valueOf = (key: string): string | undefined => match.find((f) => f.key === key)?.value;
  const ctState = valueOf("ct_state");
  return {
    kind: "datapath-flow",
    source,
    ufid: ufidMatch?.[1] ?? null,
    match,
    recircId: valueOf("recirc_id") ?? null,
    inPort: inPortOf(valueOf("in_port")),
    ctState: ctState === undefined ? null : parseCtState(ctState),
    stats,
    offloaded: trailer.offloaded,
    dpLayer: trailer.dpLayer,
    actionsText: trailer.actionsText,
    actions: datapathActionsOrNull(trailer.actionsText),
    dpExtraInfo: trailer.dpExtraInfo,
    other: trailer.other,
  };
}

/**
 * Parses datapath flow dumps: `ovs-appctl dpctl/dump-flows [-m] [--names]`, `ovs-dpctl dump-flows`,
 * `ovs-appctl dpif/dump-flows [-m] BRIDGE` (OVS 2.x–3.x, kernel and userspace datapaths).
 */
export function parseDatapathFlows(text: string): DatapathFlowsDocument {
  const headers: DatapathFlowDumpHeader[] = [];
  const flows: DatapathFlow[] = [];
  const elisions: Elision[] = [];
  return readLines(text, {
    what: "datapath flow dump",
    missing: "no `flow-dump from` header, no datapath flow",
    read(trimmed, source) {
      const header = DUMP_HEADER_RE.exec(trimmed);
      if (header !== null) {
        headers.push({
          kind: "dump-header",
          source,
          pmdCore: header[1] === undefined ? null : Number(header[1]),
        });
        return true;
      }
      if (isElisionLine(trimmed)) {
        elisions.push({ kind: "elision", source });
        return true;
      }
      if (!FLOW_LINE_RE.test(trimmed)) return false;
      const flow = parseDatapathFlowLine(trimmed, source);
      if (typeof flow === "string") throw new ParseError(`malformed datapath flow (${flow})`, locate(source));
      flows.push(flow);
      return true;
    },
    recognized: () => headers.length + flows.length > 0,
    finish: (lines) => ({ kind: "datapath-flows", headers, flows, elisions, ...lines }),
  });
}

/** Cheap sniffer: a `flow-dump from` header or a datapath flow line among the first 50 lines. */
export function looksLikeDatapathFlows(text: string): boolean {
  return headLines(text, 50).some((raw) => {
    const t = raw.trim();
    return DUMP_HEADER_RE.test(t) || (FLOW_LINE_RE.test(t) && / bytes:\d+, used:/.test(t));
  });
}
