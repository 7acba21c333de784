import type {
  DumpFlowsDocument,
  Elision,
  FlowStats,
  MatchField,
  OpenFlowFlow,
  OpenFlowReplyHeader,
} from "../model/openflow.js";
import type { SourceRef } from "../model/source.js";
import { headLines, isElisionLine, locate, nesting, readLines, splitTopLevelCommas } from "./text.js";
import { ParseError } from "../errors.js";

/** OFP_DEFAULT_PRIORITY: ovs-ofctl leaves out `priority=` when a flow has it. */
export const DEFAULT_FLOW_PRIORITY = 32768;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const COMMA = 0x2c;

/** Flow-mod flags, printed as bare words followed by a space (lib/ofp-flow.c). */
export const FLOW_FLAGS: ReadonlySet<string> = new Set([
  "send_flow_rem",
  "check_overlap",
  "reset_counts",
  "no_packet_counts",
  "no_byte_counts",
  "allow_hidden_fields",
  "no_readonly_table",
  "emerg",
]);

/** Keys that are never match fields, so `key=value ` (space, not comma) still belongs before the match. */
export const PREFIX_KEYS: ReadonlySet<string> = new Set([
  "cookie",
  "duration",
  "table",
  "n_packets",
  "n_bytes",
  "idle_timeout",
  "hard_timeout",
  "importance",
  "idle_age",
  "hard_age",
]);

const NUMERIC_STATS = {
  n_packets: "nPackets",
  n_bytes: "nBytes",
  idle_age: "idleAge",
  hard_age: "hardAge",
  idle_timeout: "idleTimeout",
  hard_timeout: "hardTimeout",
  importance: "importance",
} as const;

const HEADER_RE = /^([A-Z][A-Z0-9_]*) (?:reply )?(?:\((OF\d+(?:\.\d+)?)\) )?\(xid=(0x[0-9a-fA-F]+)\):(.*)$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const UINT_RE = /^\d+$/;

/** Index of the first top-level space (and comma, if asked) from `pos`, or the text length. */
function tokenEnd(text: string, pos: number, stopAtComma: boolean): number {
  let depth = 0;
  let inQuote = false;
  for (let i = pos; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (depth === 0 && (c === SPACE || (stopAtComma && c === COMMA))) return i;
    else depth = Math.max(0, depth + nesting(c));
  }
  return text.length;
}

/** `NXST_FLOW reply (xid=0x4): flags=[more]` → header; anything else → undefined. */
export function parseReplyHeader(trimmed: string, source: SourceRef): OpenFlowReplyHeader | undefined {
  const m = HEADER_RE.exec(trimmed);
  if (m === null) return undefined;
  const [, message = "", version, xid = "", rest = ""] = m;
  return {
    kind: "reply-header",
    source,
    message,
    ...(version === undefined ? {} : { version }),
    xid,
    more: rest.includes("more"),
  };
}

/** A flow line as printed, before the defaults that depend on which command printed it. */
export interface FlowBody {
  readonly cookie?: string;
  readonly table?: number | string;
  readonly priority?: number;
  readonly match: MatchField[];
  readonly actionsText: string;
  readonly actions: string[];
  readonly actionsBalanced: boolean;
  readonly stats: FlowStats;
}

interface MutableStats {
  durationSeconds?: number;
  nPackets?: number;
  nBytes?: number;
  idleAge?: number;
  hardAge?: number;
  idleTimeout?: number;
  hardTimeout?: number;
  importance?: number;
  flags: string[];
  other: { key: string; value: string }[];
}

interface PrefixState {
  cookie?: string;
  table?: number | string;
  stats: MutableStats;
}

/** Records one `key=value` item printed before the match; returns why it is malformed, if it is. */
function applyPrefixItem(state: PrefixState, key: string, value: string): string | undefined {
  switch (key) {
    case "cookie":
      if (!HEX_RE.test(value)) return `bad cookie ${JSON.stringify(value)}`;
      state.cookie = value;
      return undefined;
    case "duration": {
      const seconds = Number(value.endsWith("s") ? value.slice(0, -1) : "x");
      if (!Number.isFinite(seconds)) return `bad duration ${JSON.stringify(value)}`;
      state.stats.durationSeconds = seconds;
      return undefined;
    }
    case "table":
      if (value === "") return "empty table";
      state.table = UINT_RE.test(value) ? Number(value) : value;
      return undefined;
    case "n_packets":
    case "n_bytes":
    case "idle_age":
    case "hard_age":
    case "idle_timeout":
    case "hard_timeout":
    case "importance":
      if (!UINT_RE.test(value)) return `bad ${key} ${JSON.stringify(value)}`;
      state.stats[NUMERIC_STATS[key]] = Number(value);
      return undefined;
    default:
      if (key === "") return "empty item before the match";
      state.stats.other.push({ key, value });
      return undefined;
  }
}

function parseMatch(text: string): { match: MatchField[]; priority?: number } | string {
  const match: MatchField[] = [];
  let priority: number | undefined;
  for (const item of splitTopLevelCommas(text).parts) {
    const eq = item.indexOf("=");
    if (item === "" || eq === 0) return `empty match field in ${JSON.stringify(text)}`;
    if (eq === -1) {
      match.push({ field: item });
      continue;
    }
    const field = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (field === "priority") {
      if (!UINT_RE.test(value)) return `bad priority ${JSON.stringify(value)}`;
      priority = Number(value);
    } else match.push({ field, value });
  }
  return priority === undefined ? { match } : { match, priority };
}

/**
 * Parses one flow as ovs-ofctl / ovn-sbctl print it (leading whitespace removed):
 * `[key=value, ]... [flag ]... [match] actions=...`. Returns why it is malformed instead of throwing.
 */
export function parseFlowBody(text: string): FlowBody | string {
  const state: PrefixState = { stats: { flags: [], other: [] } };
  let pos = 0;
  while (pos < text.length && !text.startsWith("actions=", pos)) {
    const end = tokenEnd(text, pos, true);
    const token = text.slice(pos, end);
    const eq = token.indexOf("=");
    const key = eq === -1 ? token : token.slice(0, eq);
    const commaSpace = text.charCodeAt(end) === COMMA && text.charCodeAt(end + 1) === SPACE;
    const spaceOnly = text.charCodeAt(end) === SPACE;
    if (commaSpace || (spaceOnly && eq !== -1 && PREFIX_KEYS.has(key))) {
      const problem = applyPrefixItem(state, key, eq === -1 ? "" : token.slice(eq + 1));
      if (problem !== undefined) return problem;
      pos = end + (commaSpace ? 2 : 1);
    } else if (spaceOnly && FLOW_FLAGS.has(token)) {
      state.stats.flags.push(token);
      pos = end + 1;
    } else break;
  }
  let matchText = "";
  if (!text.startsWith("actions=", pos)) {
    const end = tokenEnd(text, pos, false);
    matchText = text.slice(pos, end);
    pos = end;
    while (text.charCodeAt(pos) === SPACE) pos++;
    if (!text.startsWith("actions=", pos)) return "no actions= after the match";
  }
  const parsedMatch = parseMatch(matchText);
  if (typeof parsedMatch === "string") return parsedMatch;
  const actionsText = text.slice(pos + "actions=".length).trimEnd();
  const { parts, balanced } = splitTopLevelCommas(actionsText);
  return {
    ...(state.cookie === undefined ? {} : { cookie: state.cookie }),
    ...(state.table === undefined ? {} : { table: state.table }),
    ...(parsedMatch.priority === undefined ? {} : { priority: parsedMatch.priority }),
    match: parsedMatch.match,
    actionsText,
    actions: parts,
    actionsBalanced: balanced,
    stats: state.stats,
  };
}

/** A line that can only be meant as a flow: a failure to parse it is a cut or mangled flow, not foreign text. */
export function looksLikeFlowLine(trimmed: string): boolean {
  return (
    trimmed.includes("actions=") ||
    trimmed.startsWith("cookie=") ||
    trimmed.startsWith("duration=") ||
    trimmed.startsWith("priority=") ||
    /^table=\w+, /.test(trimmed)
  );
}

function toFlow(body: FlowBody, source: SourceRef): OpenFlowFlow {
  const { cookie = "0x0", table = 0, priority = DEFAULT_FLOW_PRIORITY, ...printed } = body;
  return { kind: "flow", source, cookie, table, priority, ...printed };
}

/** Parses `ovs-ofctl [-O OpenFlowXX] [--no-stats] [--names] dump-flows BRIDGE` output (OVS 2.x–3.x). */
export function parseDumpFlows(text: string): DumpFlowsDocument {
  const headers: OpenFlowReplyHeader[] = [];
  const flows: OpenFlowFlow[] = [];
  const elisions: Elision[] = [];
  return readLines(text, {
    what: "ovs-ofctl dump-flows output",
    missing: "no reply header, no flow",
    read(trimmed, source) {
      const header = parseReplyHeader(trimmed, source);
      if (header?.message.endsWith("FLOW") === true) headers.push(header);
      else if (isElisionLine(trimmed)) elisions.push({ kind: "elision", source });
      else if (header === undefined && looksLikeFlowLine(trimmed)) flows.push(parseFlowLine(trimmed, source));
      else return false;
      return true;
    },
    recognized: () => headers.length + flows.length + elisions.length > 0,
    finish: (lines) => ({ kind: "dump-flows", headers, flows, elisions, ...lines }),
  });
}

function parseFlowLine(trimmed: string, source: SourceRef): OpenFlowFlow {
  const body = parseFlowBody(trimmed);
  if (typeof body === "string") throw new ParseError(`malformed flow (${body})`, locate(source));
  return toFlow(body, source);
}

/** Cheap sniffer: a flow reply header or a flow line among the first 50 lines (and no lflow-list header). */
export function looksLikeDumpFlows(text: string): boolean {
  let found = false;
  for (const raw of headLines(text, 50)) {
    const t = raw.trim();
    if (t.startsWith("Datapath:")) return false;
    const m = HEADER_RE.exec(t);
    if (m?.[1]?.endsWith("FLOW") === true) found = true;
    else if (
      /^(?:cookie=0x[0-9a-fA-F]+, |priority=\d+|table=\w+, |actions=)/.test(t) &&
      t.includes("actions=")
    ) {
      found = true;
    }
  }
  return found;
}
