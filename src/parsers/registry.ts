import { PARSED_KINDS, type ParsedKind, type ParsedText } from "../model/parsed.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { looksLikeOvsdbFile, readOvsdbFile } from "../ovsdb/file.js";
import { looksLikeDatapathFlows, parseDatapathFlows } from "./datapath-flows.js";
import { looksLikeDumpFlows, parseDumpFlows } from "./dump-flows.js";
import { looksLikeDumpGroups, parseDumpGroups } from "./dump-groups.js";
import { looksLikeLflowList, parseLflowList } from "./lflow-list.js";
import { looksLikeOfprotoTraceLegacy, parseOfprotoTraceLegacy } from "./ofproto-trace-legacy.js";
import { looksLikeOfprotoTrace, parseOfprotoTrace } from "./ofproto-trace.js";
import { looksLikeNbctlShow, parseNbctlShow } from "./ovn-nbctl-show.js";
import { looksLikeSbctlShow, parseSbctlShow } from "./ovn-sbctl-show.js";
import { looksLikeOvnTrace, parseOvnTraces } from "./ovn-trace.js";
import { looksLikeTlvMap, parseTlvMap } from "./tlv-map.js";
import { ParseError } from "../errors.js";

interface TextParser {
  readonly looksLike: (text: string) => boolean;
  readonly parse: (text: string) => ParsedText;
}

/** One ovn-trace, or the set of them when the text holds several (e.g. `ovn-trace --all`). */
function parseOvnTraceText(text: string): ParsedText {
  const traces = parseOvnTraces(text);
  const [only] = traces;
  if (traces.length === 1 && only !== undefined) return only;
  return {
    kind: "ovn-trace-set",
    traces,
    unconsumed: traces.flatMap((t) => t.unconsumed),
    lineCount: traces.reduce((n, t) => n + t.lineCount, 0),
  };
}

type TextKind = Exclude<ParsedKind, "ovsdb-database">;

/**
 * Tried in the order of PARSED_KINDS (src/model/parsed.ts, the one place that order is written): the most specific
 * formats first (a trace can quote flows, not the reverse); the trace format before OVS 2.7 before today's, whose
 * sniffer also takes it (to reject it with a clear error).
 */
const TEXT_PARSERS: Readonly<Record<TextKind, TextParser>> = {
  "ofproto-trace-legacy": { looksLike: looksLikeOfprotoTraceLegacy, parse: parseOfprotoTraceLegacy },
  "ofproto-trace": { looksLike: looksLikeOfprotoTrace, parse: parseOfprotoTrace },
  "ovn-trace": { looksLike: looksLikeOvnTrace, parse: parseOvnTraceText },
  "lflow-list": { looksLike: looksLikeLflowList, parse: parseLflowList },
  "dump-groups": { looksLike: looksLikeDumpGroups, parse: parseDumpGroups },
  "tlv-map": { looksLike: looksLikeTlvMap, parse: parseTlvMap },
  "dump-flows": { looksLike: looksLikeDumpFlows, parse: parseDumpFlows },
  "datapath-flows": { looksLike: looksLikeDatapathFlows, parse: parseDatapathFlows },
  "ovn-nbctl-show": { looksLike: looksLikeNbctlShow, parse: parseNbctlShow },
  "ovn-sbctl-show": { looksLike: looksLikeSbctlShow, parse: parseSbctlShow },
};

const TEXT_KINDS = PARSED_KINDS.filter((k): k is TextKind => k !== "ovsdb-database");

/** Which kind of output this is, or undefined if none of the parsers recognises it. */
export function detectKind(input: Uint8Array): ParsedKind | undefined {
  if (looksLikeOvsdbFile(input)) return "ovsdb-database";
  const text = Buffer.from(input.subarray(0, 256 * 1024)).toString("utf8");
  return TEXT_KINDS.find((k) => TEXT_PARSERS[k].looksLike(text));
}

/** Parses an output of a known (or detected) kind; throws only ParseError. */
export function parseAs(input: Uint8Array, kind?: ParsedKind): ParsedText | OvsdbDatabase {
  const k = kind ?? detectKind(input);
  if (k === undefined) {
    throw new ParseError(
      "not an output ovnkube-trace can read",
      {},
      {
        hint: `give the kind with --as (one of ${PARSED_KINDS.join(", ")})`,
      },
    );
  }
  if (k === "ovsdb-database") return readOvsdbFile(input);
  return TEXT_PARSERS[k].parse(Buffer.from(input).toString("utf8"));
}
