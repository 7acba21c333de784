import type {
  CtAction,
  CtNat,
  DatapathAction,
  DatapathTunnel,
  GeneveOption,
  OvnTunnel,
  PushVlanAction,
  SampleAction,
  UserspaceAction,
} from "../model/ofproto-trace.js";
import { splitTopLevelCommas } from "./text.js";
import { guardParse, ParseError } from "../errors.js";

/** OVN's Geneve option: class 0x102 (OVN), type 0x80, value `(ingress key << 16) | egress key`. */
const OVN_GENEVE_CLASS = 0x102;
const OVN_GENEVE_TYPE = 0x80;

/** Bare words that are actions, so never an output port name. */
const BARE_ACTIONS = new Set(["drop", "pop_vlan", "ct_clear", "pop_eth", "ct", "pop_nsh", "pop_mpls"]);

const UINT_RE = /^\d+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
/** A port name as `--names` prints it (`eth0`, `genev_sys_6081`, `0b4ce082978cba9`); a plain number is a port number. */
const PORT_NAME_RE = /^[\w.-]+$/;

/**
 * Parses the text after `Datapath actions: ` (or after `actions:` in a datapath flow dump) into actions.
 * Throws ParseError when parentheses do not balance (a cut line).
 */
export function parseDatapathActions(text: string): DatapathAction[] {
  return guardParse("datapath actions", () => parseActionList(text.trim()));
}

function parseActionList(text: string): DatapathAction[] {
  const { parts, balanced } = splitTopLevelCommas(text);
  if (!balanced) throw new ParseError("unbalanced parentheses in datapath actions", { excerpt: text });
  return parts.map((part) => parseAction(part.trim()));
}

/** `name(args)` → ["name", "args"]; null when `text` is not of that form. */
function call(text: string): { name: string; args: string } | null {
  const open = text.indexOf("(");
  if (open <= 0 || !text.endsWith(")")) return null;
  return { name: text.slice(0, open), args: text.slice(open + 1, -1) };
}

function parseAction(text: string): DatapathAction {
  const c = call(text);
  if (c === null) return parseBareAction(text);
  switch (c.name) {
    case "ct":
      return parseCt(text, c.args);
    case "recirc":
      return HEX_RE.test(c.args) ? { kind: "recirc", text, id: c.args } : other(text, c.name);
    case "hash":
      return parseHash(text, c.args);
    case "tnl_push":
      return { kind: "tnl_push", text, tunnel: parseTunnelPush(c.args) };
    case "set":
      return parseSet(text, c.args);
    case "push_vlan":
      return parsePushVlan(text, c.args);
    case "userspace":
      return parseUserspace(text, c.args);
    case "meter":
      return UINT_RE.test(c.args) ? { kind: "meter", text, id: Number(c.args) } : other(text, c.name);
    case "clone":
      return { kind: "clone", text, actions: parseActionList(c.args) };
    case "sample":
      return parseSample(text, c.args);
    default:
      return other(text, c.name);
  }
}

function other(text: string, name: string): DatapathAction {
  return { kind: "other", text, name };
}

function parseBareAction(text: string): DatapathAction {
  if (text === "drop") return { kind: "drop", text };
  if (text === "pop_vlan") return { kind: "pop_vlan", text };
  if (text === "ct") return parseCt(text, "");
  if (UINT_RE.test(text)) return { kind: "output", text, port: Number(text) };
  if (PORT_NAME_RE.test(text) && !BARE_ACTIONS.has(text)) return { kind: "output", text, port: text };
  return other(text, text);
}

/** `key=value` → [key, value]; a bare word or a call (`nat(src=..)`) → [item, ""]. */
function keyValue(item: string): [string, string] {
  const eq = item.indexOf("=");
  const paren = item.indexOf("(");
  if (eq === -1 || (paren !== -1 && paren < eq)) return [item, ""];
  return [item.slice(0, eq), item.slice(eq + 1)];
}

function uintOrNull(text: string | undefined): number | null {
  return text !== undefined && UINT_RE.test(text) ? Number(text) : null;
}

function parseCt(text: string, args: string): CtAction {
  const options = splitTopLevelCommas(args).parts;
  let zone: number | null = null;
  let mark: string | null = null;
  let label: string | null = null;
  let helper: string | null = null;
  let nat: CtNat | null = null;
  for (const option of options) {
    if (option === "nat" || option.startsWith("nat(")) {
      nat = parseNat(option);
      continue;
    }
    const [key, value] = keyValue(option);
    if (key === "zone") zone = uintOrNull(value);
    else if (key === "mark") mark = value;
    else if (key === "label") label = value;
    else if (key === "helper") helper = value;
  }
  return {
    kind: "ct",
    text,
    zone,
    commit: options.includes("commit"),
    forceCommit: options.includes("force_commit"),
    mark,
    label,
    nat,
    helper,
    options,
  };
}

function parseNat(text: string): CtNat {
  const c = call(text);
  const [first = "", ...flags] = c === null ? [] : splitTopLevelCommas(c.args).parts;
  const [direction, range] = keyValue(first);
  const base = { text, addr: null, addrMax: null, port: null, portMax: null, flags };
  if (direction !== "src" && direction !== "dst") return { ...base, direction: null };
  return { ...base, direction, ...parseNatRange(range) };
}

/** `10.0.0.1-10.0.0.9:100-200`, `[fd00::3]:53`, `fd00::3`, `10.244.2.3:53`. */
function parseNatRange(range: string): Pick<CtNat, "addr" | "addrMax" | "port" | "portMax"> {
  let addresses = range;
  let ports = "";
  if (range.startsWith("[")) {
    const close = range.lastIndexOf("]");
    const colon = range.indexOf(":", close);
    if (close !== -1 && colon === close + 1) {
      addresses = range.slice(0, close + 1);
      ports = range.slice(colon + 1);
    }
  } else if (range.split(":").length === 2) {
    [addresses = "", ports = ""] = range.split(":");
  }
  const [addr = "", addrMax = null] = splitRange(addresses).map(unbracket);
  const [port = null, portMax = null] = splitRange(ports).map((p) => uintOrNull(p));
  return { addr: addr === "" ? null : addr, addrMax, port, portMax };
}

/** "a-b" → [a, b]; "a" → [a]; "" → []. IPv6 addresses never contain "-". */
function splitRange(text: string): string[] {
  if (text === "") return [];
  const dash = text.indexOf("-");
  return dash === -1 ? [text] : [text.slice(0, dash), text.slice(dash + 1)];
}

function unbracket(addr: string): string {
  return addr.startsWith("[") && addr.endsWith("]") ? addr.slice(1, -1) : addr;
}

function parseHash(text: string, args: string): DatapathAction {
  const m = /^(\w+)\((\d*)\)$/.exec(args);
  if (!m) return other(text, "hash");
  return { kind: "hash", text, algorithm: m[1] ?? "", basis: uintOrNull(m[2]) };
}

/** `key=value` items of `args` as a record (the last wins); bare words map to "". */
function fieldsOf(args: string): Record<string, string> {
  return Object.fromEntries(splitTopLevelCommas(args).parts.map(keyValue));
}

/** The items of `args` that are calls, by name: `eth(...)`, `ipv4(...)`, `geneve(...)`. */
function callsOf(args: string): Map<string, string> {
  const calls = new Map<string, string>();
  for (const part of splitTopLevelCommas(args).parts) {
    const c = call(part);
    if (c !== null && !calls.has(c.name)) calls.set(c.name, c.args);
  }
  return calls;
}

function emptyTunnel(via: DatapathTunnel["via"]): DatapathTunnel {
  return {
    via,
    type: null,
    vni: null,
    src: null,
    dst: null,
    ethSrc: null,
    ethDst: null,
    ttl: null,
    tos: null,
    tpSrc: null,
    tpDst: null,
    geneveOptions: [],
    flags: [],
    outPort: null,
    tunnelPort: null,
  };
}

const ENCAPSULATIONS = ["geneve", "vxlan", "gre", "erspan", "gtpu", "srv6"];

/**
 * `tnl_port(6081),header(size=58,type=5,eth(dst=..,src=..,dl_type=0x0800),ipv4(src=..,dst=..,proto=17,tos=0,
 * ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0xffff),geneve(crit,vni=0x9,options({class=0x102,...}))),out_port(100)`
 */
function parseTunnelPush(args: string): DatapathTunnel {
  const outer = callsOf(args);
  const header = callsOf(outer.get("header") ?? "");
  const eth = fieldsOf(header.get("eth") ?? "");
  const ip = fieldsOf(header.get("ipv4") ?? header.get("ipv6") ?? "");
  const udp = fieldsOf(header.get("udp") ?? "");
  const type = ENCAPSULATIONS.find((name) => header.has(name)) ?? null;
  const encap = type === null ? "" : (header.get(type) ?? "");
  const encapItems = splitTopLevelCommas(encap).parts;
  const encapFields = fieldsOf(encap);
  return {
    ...emptyTunnel("tnl_push"),
    type,
    vni: encapFields.vni ?? encapFields.key ?? null,
    src: ip.src ?? null,
    dst: ip.dst ?? null,
    ethSrc: eth.src ?? null,
    ethDst: eth.dst ?? null,
    ttl: uintOrNull(ip.ttl ?? ip.hlimit),
    tos: uintOrNull(ip.tos),
    tpSrc: uintOrNull(udp.src),
    tpDst: uintOrNull(udp.dst),
    geneveOptions: type === "geneve" ? geneveOptionsOf(callsOf(encap).get("options") ?? "") : [],
    flags: type === "geneve" ? encapItems.filter((item) => /^\w+$/.test(item)) : [],
    outPort: uintOrNull(outer.get("out_port")),
    tunnelPort: uintOrNull(outer.get("tnl_port")),
  };
}

/** `tun_id=0xff0003,dst=172.18.0.2,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0x20004}),flags(df|csum|key)` */
function parseSetTunnel(args: string): DatapathTunnel {
  const fields = fieldsOf(args);
  const calls = callsOf(args);
  const geneve = calls.get("geneve");
  const flags = calls.get("flags");
  return {
    ...emptyTunnel("set_tunnel"),
    type: ENCAPSULATIONS.find((name) => calls.has(name)) ?? null,
    vni: fields.tun_id ?? null,
    src: fields.src ?? fields.ipv6_src ?? null,
    dst: fields.dst ?? fields.ipv6_dst ?? null,
    ttl: uintOrNull(fields.ttl),
    tos: uintOrNull(fields.tos),
    tpSrc: uintOrNull(fields.tp_src),
    tpDst: uintOrNull(fields.tp_dst),
    geneveOptions: geneve === undefined ? [] : geneveOptionsOf(geneve),
    flags: flags === undefined || flags === "" ? [] : flags.split("|"),
  };
}

/** `{class=0x102,type=0x80,len=4,0x10003}`, several options with or without commas between them. */
function geneveOptionsOf(text: string): GeneveOption[] {
  const options: GeneveOption[] = [];
  for (const m of text.matchAll(/\{([^{}]*)\}/g)) {
    const items = (m[1] ?? "").split(",");
    const fields = Object.fromEntries(items.map(keyValue));
    const data = items.find((item) => !item.includes("="));
    options.push({
      class: fields.class ?? "",
      type: fields.type ?? "",
      length: uintOrNull(fields.len) ?? 0,
      value: (data ?? "").split("/")[0] ?? "",
    });
  }
  return options;
}

function parseSet(text: string, args: string): DatapathAction {
  const inner = call(args);
  if (inner === null) return other(text, "set");
  if (inner.name === "tunnel") return { kind: "set_tunnel", text, tunnel: parseSetTunnel(inner.args) };
  return { kind: "set", text, header: inner.name, fields: fieldsOf(inner.args) };
}

function parsePushVlan(text: string, args: string): PushVlanAction {
  const fields = fieldsOf(args);
  return {
    kind: "push_vlan",
    text,
    vid: uintOrNull(fields.vid),
    pcp: uintOrNull(fields.pcp),
    tpid: fields.tpid ?? null,
  };
}

function parseUserspace(text: string, args: string): UserspaceAction {
  const items = splitTopLevelCommas(args).parts;
  const [key, value] = keyValue(items[0] ?? "");
  const hasPid = key === "pid";
  return {
    kind: "userspace",
    text,
    pid: hasPid ? uintOrNull(value) : null,
    options: hasPid ? items.slice(1) : items,
  };
}

function parseSample(text: string, args: string): SampleAction {
  let probability: string | null = null;
  let actions: DatapathAction[] = [];
  for (const item of splitTopLevelCommas(args).parts) {
    const c = call(item);
    if (c?.name === "actions") actions = parseActionList(c.args);
    else if (item.startsWith("sample=")) probability = item.slice("sample=".length);
  }
  return { kind: "sample", text, probability, actions };
}

/** Every tunnel the actions send the packet into, in order (inside clone/sample too). */
export function tunnelsOf(actions: readonly DatapathAction[]): DatapathTunnel[] {
  const tunnels: DatapathTunnel[] = [];
  for (const action of actions) {
    if (action.kind === "tnl_push" || action.kind === "set_tunnel") tunnels.push(action.tunnel);
    else if (action.kind === "clone" || action.kind === "sample") tunnels.push(...tunnelsOf(action.actions));
  }
  return tunnels;
}

/** The first tunnel of `actions` in OVN terms (VNI = datapath key, Geneve option = port keys); null if none. */
export function tunnelOf(actions: readonly DatapathAction[]): OvnTunnel | null {
  const tunnel = tunnelsOf(actions)[0];
  if (tunnel === undefined) return null;
  const ports = ovnPortKeys(tunnel.geneveOptions);
  return {
    vni: tunnel.vni === null ? null : hexNumber(tunnel.vni),
    dst: tunnel.dst,
    src: tunnel.src,
    ovnIngressPortKey: ports?.ingress ?? null,
    ovnEgressPortKey: ports?.egress ?? null,
    tunnel,
  };
}

function hexNumber(text: string): number | null {
  return HEX_RE.test(text) ? Number.parseInt(text.slice(2), 16) : null;
}

function ovnPortKeys(options: readonly GeneveOption[]): { ingress: number; egress: number } | null {
  const option = options.find(
    (o) => hexNumber(o.class) === OVN_GENEVE_CLASS && hexNumber(o.type) === OVN_GENEVE_TYPE,
  );
  const value = option === undefined ? null : hexNumber(option.value);
  if (value === null) return null;
  // The ingress key is 15 bits at bit 16 (bit 31 is reserved), the egress key the low 16 bits.
  return { ingress: Math.floor(value / 0x10000) & 0x7fff, egress: value & 0xffff };
}

/** The actions, or null for an unbalanced (cut) list, which is kept as text; a parser bug is not hidden. */
export function datapathActionsOrNull(text: string): DatapathAction[] | null {
  try {
    return parseDatapathActions(text);
  } catch (e) {
    if (e instanceof ParseError && e.cause === undefined) return null;
    throw e;
  }
}
