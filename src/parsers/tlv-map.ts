import type {
  OpenFlowReplyHeader,
  TlvAllocated,
  TlvLimits,
  TlvMapDocument,
  TlvMapping,
} from "../model/openflow.js";
import type { SourceRef } from "../model/source.js";
import { parseReplyHeader } from "./dump-flows.js";
import { headLines, locate, readLines } from "./text.js";
import { ParseError } from "../errors.js";

const LIMITS_RE = /^max option space=(\d+) max fields=(\d+)$/;
const ALLOCATED_RE = /^allocated option space=(\d+)$/;
const COLUMNS_RE = /^class +type +length +match field$/;
const DASHES_RE = /^-+ +-+ +-+ +-+$/;
const ROW_RE = /^(0x[0-9a-fA-F]+|\d+) +(0x[0-9a-fA-F]+|\d+) +(\d+) +(tun_metadata(\d+))$/;
const ROW_START_RE = /^(?:0x[0-9a-fA-F]+|\d+)(?: |$)/;
const TLV_HEADER_RE = /^NXT_(?:TLV|GENEVE)_TABLE_REPLY\b/;

function parseRow(trimmed: string, source: SourceRef): TlvMapping {
  const m = ROW_RE.exec(trimmed);
  if (m === null) throw new ParseError("malformed mapping table row", locate(source));
  const [, optionClass = "", optionType = "", length = "", field = "", index = ""] = m;
  return {
    kind: "tlv-mapping",
    source,
    class: optionClass,
    type: optionType,
    length: Number(length),
    field,
    index: Number(index),
  };
}

function parseLimits(trimmed: string, source: SourceRef): TlvLimits {
  const m = LIMITS_RE.exec(trimmed);
  if (m === null) throw new ParseError("malformed option space limits", locate(source));
  return { kind: "tlv-limits", source, maxOptionSpace: Number(m[1]), maxFields: Number(m[2]) };
}

function parseAllocated(trimmed: string, source: SourceRef): TlvAllocated {
  const m = ALLOCATED_RE.exec(trimmed);
  if (m === null) throw new ParseError("malformed allocated option space", locate(source));
  return { kind: "tlv-allocated", source, optionSpace: Number(m[1]) };
}

/** Parses `ovs-ofctl dump-tlv-map BRIDGE` output (the Geneve option → tun_metadataN table). */
export function parseTlvMap(text: string): TlvMapDocument {
  const headers: OpenFlowReplyHeader[] = [];
  const tableHeading: SourceRef[] = [];
  const mappings: TlvMapping[] = [];
  let limits: TlvLimits | undefined;
  let allocated: TlvAllocated | undefined;
  return readLines(text, {
    what: "ovs-ofctl dump-tlv-map output",
    read(trimmed, source) {
      const header = parseReplyHeader(trimmed, source);
      if (header !== undefined && TLV_HEADER_RE.test(header.message)) headers.push(header);
      else if (limits === undefined && trimmed.startsWith("max option space"))
        limits = parseLimits(trimmed, source);
      else if (allocated === undefined && trimmed.startsWith("allocated option space")) {
        allocated = parseAllocated(trimmed, source);
      } else if (isTableHeading(trimmed, tableHeading.length)) tableHeading.push(source);
      else if (header === undefined && ROW_START_RE.test(trimmed)) mappings.push(parseRow(trimmed, source));
      else return false;
      return true;
    },
    recognized: () =>
      headers.length + tableHeading.length + mappings.length > 0 ||
      limits !== undefined ||
      allocated !== undefined,
    finish: (lines) => ({
      kind: "tlv-map",
      headers,
      ...(limits === undefined ? {} : { limits }),
      ...(allocated === undefined ? {} : { allocated }),
      tableHeading,
      mappings,
      ...lines,
    }),
  });
}

/** `mapping table:`, the column names and the dashes under them (a dashed line past those is not a heading). */
function isTableHeading(trimmed: string, headingLinesSoFar: number): boolean {
  return (
    trimmed === "mapping table:" ||
    COLUMNS_RE.test(trimmed) ||
    (DASHES_RE.test(trimmed) && headingLinesSoFar < 3)
  );
}

/** Cheap sniffer: the TLV table reply header or its fixed lines among the first 50 lines. */
export function looksLikeTlvMap(text: string): boolean {
  return headLines(text, 50).some((raw) => {
    const t = raw.trim();
    return TLV_HEADER_RE.test(t) || LIMITS_RE.test(t) || t === "mapping table:";
  });
}
