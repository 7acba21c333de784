import type {
  DumpGroupsDocument,
  GroupBucket,
  GroupType,
  NatTarget,
  OpenFlowGroup,
  OpenFlowReplyHeader,
} from "../model/openflow.js";
import type { SourceRef } from "../model/source.js";
import { parseReplyHeader } from "./dump-flows.js";
import { headLines, locate, readLines, splitTopLevelCommas, topLevelBreaks } from "./text.js";
import { ParseError } from "../errors.js";

const GROUP_TYPES: ReadonlySet<string> = new Set<GroupType>(["all", "select", "indirect", "ff", "unknown"]);
const UINT_RE = /^\d+$/;
const COMMA = 0x2c;

/** A comma-separated item of a group line, with where it starts (to cut the raw actions text). */
interface Item {
  readonly text: string;
  readonly start: number;
}

function topLevelItems(line: string): { items: Item[]; balanced: boolean } {
  const { breaks, balanced } = topLevelBreaks(line, COMMA);
  const items: Item[] = [];
  let start = 0;
  for (const end of [...breaks, line.length]) {
    items.push({ text: line.slice(start, end), start });
    start = end + 1;
  }
  return { items, balanced };
}

function uint(value: string, what: string): number {
  if (!UINT_RE.test(value)) throw new Error(`bad ${what} ${JSON.stringify(value)}`);
  return Number(value);
}

interface BucketDraft {
  id?: number;
  weight?: number;
  watchPort?: string;
  watchGroup?: number;
  actionsStart?: number;
}

/** `bucket_id:0`, `weight:100`, `watch_port:1`, `watch_group:2` (before `actions=`). */
function applyBucketProperty(draft: BucketDraft, item: string): void {
  const colon = item.indexOf(":");
  const key = colon === -1 ? item : item.slice(0, colon);
  const value = item.slice(colon + 1);
  if (key === "bucket_id") draft.id = uint(value, "bucket_id");
  else if (key === "weight") draft.weight = uint(value, "weight");
  else if (key === "watch_port" && value !== "") draft.watchPort = value;
  else if (key === "watch_group") draft.watchGroup = uint(value, "watch_group");
  else throw new Error(`unknown bucket property ${JSON.stringify(item)}`);
}

function finishBucket(line: string, draft: BucketDraft, end: number, type: GroupType): GroupBucket {
  if (draft.actionsStart === undefined) throw new Error("bucket without actions=");
  const actionsText = line.slice(draft.actionsStart, end);
  const { parts, balanced } = splitTopLevelCommas(actionsText);
  return {
    kind: "bucket",
    ...(draft.id === undefined ? {} : { id: draft.id }),
    weight: draft.weight ?? (type === "select" ? 1 : 0),
    ...(draft.watchPort === undefined ? {} : { watchPort: draft.watchPort }),
    ...(draft.watchGroup === undefined ? {} : { watchGroup: draft.watchGroup }),
    actionsText,
    actions: parts,
    actionsBalanced: balanced,
  };
}

/** `fields=ip_dst` or `fields(ip_src,nw_proto)`. */
function parseFields(item: string): string[] | undefined {
  if (item.startsWith("fields=")) return [item.slice("fields=".length)];
  if (item.startsWith("fields(") && item.endsWith(")")) return splitTopLevelCommas(item.slice(7, -1)).parts;
  return undefined;
}

interface GroupDraft {
  id?: number;
  type?: GroupType;
  selectionMethod?: string;
  selectionMethodParam?: string;
  fields: string[];
  other: { key: string; value: string }[];
}

function applyGroupProperty(draft: GroupDraft, item: string): void {
  const fields = parseFields(item);
  if (fields !== undefined) {
    draft.fields = fields;
    return;
  }
  const eq = item.indexOf("=");
  const key = eq === -1 ? item : item.slice(0, eq);
  const value = eq === -1 ? "" : item.slice(eq + 1);
  if (key === "group_id") draft.id = uint(value, "group_id");
  else if (key === "type") {
    if (!GROUP_TYPES.has(value)) throw new Error(`unknown group type ${JSON.stringify(value)}`);
    draft.type = value as GroupType;
  } else if (key === "selection_method") draft.selectionMethod = value;
  else if (key === "selection_method_param") draft.selectionMethodParam = String(uint(value, key));
  else draft.other.push({ key, value });
}

/** One `group_id=...` line; throws a plain Error with the reason when it is malformed. */
function parseGroupLine(line: string, source: SourceRef): OpenFlowGroup {
  const { items } = topLevelItems(line);
  const draft: GroupDraft = { fields: [], other: [] };
  const buckets: GroupBucket[] = [];
  let bucket: BucketDraft | undefined;
  const close = (end: number): void => {
    if (bucket !== undefined) buckets.push(finishBucket(line, bucket, end, draft.type ?? "unknown"));
  };
  for (const { text, start } of items) {
    let item = text;
    let itemStart = start;
    if (item.startsWith("bucket=")) {
      close(start - 1);
      bucket = {};
      item = item.slice("bucket=".length);
      itemStart += "bucket=".length;
    }
    if (bucket === undefined) applyGroupProperty(draft, item);
    else if (bucket.actionsStart !== undefined) continue;
    else if (item.startsWith("actions=")) bucket.actionsStart = itemStart + "actions=".length;
    else applyBucketProperty(bucket, item);
  }
  close(line.length);
  if (draft.id === undefined) throw new Error("no group_id=");
  if (draft.type === undefined) throw new Error("no type=");
  return {
    kind: "group",
    source,
    id: draft.id,
    type: draft.type,
    ...(draft.selectionMethod === undefined ? {} : { selectionMethod: draft.selectionMethod }),
    ...(draft.selectionMethodParam === undefined ? {} : { selectionMethodParam: draft.selectionMethodParam }),
    fields: draft.fields,
    buckets,
    other: draft.other,
  };
}

/** Parses `ovs-ofctl -O OpenFlow1x dump-groups BRIDGE` output (OpenFlow 1.1–1.5 forms). */
export function parseDumpGroups(text: string): DumpGroupsDocument {
  const headers: OpenFlowReplyHeader[] = [];
  const groups: OpenFlowGroup[] = [];
  return readLines(text, {
    what: "ovs-ofctl dump-groups output",
    missing: "no reply header, no group",
    read(trimmed, source) {
      const header = parseReplyHeader(trimmed, source);
      if (header?.message.endsWith("GROUP_DESC") === true) headers.push(header);
      else if (trimmed.startsWith("group_id=")) groups.push(parseGroupOrThrow(trimmed, source));
      else return false;
      return true;
    },
    recognized: () => headers.length + groups.length > 0,
    finish: (lines) => ({ kind: "dump-groups", headers, groups, ...lines }),
  });
}

function parseGroupOrThrow(trimmed: string, source: SourceRef): OpenFlowGroup {
  try {
    return parseGroupLine(trimmed, source);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ParseError(`malformed group (${reason})`, locate(source), { cause: e });
  }
}

/** Cheap sniffer: a group-desc reply header or a `group_id=` line among the first 50 lines. */
export function looksLikeDumpGroups(text: string): boolean {
  return headLines(text, 50).some((raw) => {
    const t = raw.trim();
    return /^(?:OFPST|NXST)_GROUP_DESC reply /.test(t) || /^group_id=\d+,/.test(t);
  });
}

/** `[fd00::3]:53`, `10.0.0.1-10.0.0.9:80-90`, `fd00::7` (OVS brackets IPv6 only when a port follows). */
function parseNatRange(text: string): NatTarget | undefined {
  let addresses: string;
  let ports = "";
  let family: NatTarget["family"];
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) return undefined;
    addresses = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
    ports = rest.slice(1);
    family = "ipv6";
  } else if (text.indexOf(":") !== text.lastIndexOf(":")) {
    addresses = text;
    family = "ipv6";
  } else {
    const colon = text.indexOf(":");
    addresses = colon === -1 ? text : text.slice(0, colon);
    ports = colon === -1 ? "" : text.slice(colon + 1);
    family = "ipv4";
  }
  const [address = "", addressMax, ...extraAddresses] = addresses.split("-");
  const [port, portMax, ...extraPorts] = ports === "" ? [] : ports.split("-");
  const badPort = [port, portMax].some((p) => p !== undefined && !UINT_RE.test(p));
  if (address === "" || extraAddresses.length > 0 || extraPorts.length > 0 || badPort) return undefined;
  return {
    kind: "dnat",
    text,
    family,
    address,
    ...(addressMax === undefined ? {} : { addressMax }),
    ...(port === undefined ? {} : { port: Number(port) }),
    ...(portMax === undefined ? {} : { portMax: Number(portMax) }),
  };
}

function innerOf(call: string, name: string): string | undefined {
  if (!call.startsWith(`${name}(`) || !call.endsWith(")")) return undefined;
  return call.slice(name.length + 1, -1);
}

/**
 * The DNAT destination of the first `ct(...,nat(dst=...))` among `actions` (a group bucket or a flow):
 * the load-balancer backend the bucket sends to. Undefined when there is none.
 */
export function natTargetOf(bucket: { readonly actions: readonly string[] }): NatTarget | undefined {
  for (const action of bucket.actions) {
    const ct = innerOf(action, "ct");
    if (ct === undefined) continue;
    for (const arg of splitTopLevelCommas(ct).parts) {
      const nat = innerOf(arg, "nat");
      if (nat === undefined) continue;
      const dst = splitTopLevelCommas(nat).parts.find((p) => p.startsWith("dst="));
      if (dst !== undefined) return parseNatRange(dst.slice("dst=".length));
    }
  }
  return undefined;
}
