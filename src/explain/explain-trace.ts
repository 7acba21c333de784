import type {
  DecodedLine,
  DecodedValue,
  ExplainSummary,
  ExplainVerdict,
  ExplainedTrace,
  TunnelCrossing,
} from "../model/explanation.js";
import type { DatapathAction, OfprotoTraceDocument, OvnTunnel } from "../model/ofproto-trace.js";
import type { OvnTraceDroppedVerdict, OvnTraceOutputVerdict, OvnTraceVerdict } from "../model/ovn-trace.js";
import type { KubeObjectRef } from "../model/report.js";
import { hostPort } from "../net/ip.js";
import { externalIds, rowByUuid, stringColumn, tableRows } from "../ovsdb/index.js";
import { parseDatapathActions, tunnelOf } from "../parsers/datapath-actions.js";
import { lastTableStep, parseOfprotoTrace } from "../parsers/ofproto-trace.js";
import { parseOvnTraces } from "../parsers/ovn-trace.js";
import { OvnDecoder, SWITCH_REG0_BITS, datapathText, parseNumber, type DecodeSources } from "./decode.js";
import { traceLines } from "./detrace.js";
import { cookiesBeforeLast, explainDrop, type DropSite, type PodsOfPacket } from "./drop.js";
import { datapathMeaning } from "./owners.js";

/**
 * A pasted trace explained: every line's numbers decoded (ofproto/trace) or its logical objects named in
 * Kubernetes terms (ovn-trace), and a summary of where the packet came from, went through and ended, and
 * why. Pure: reads the databases it is given, any of which may be missing.
 */

/** How a trace ended: its verdict, and the port it left by and the tunnel it was sent into when it was. */
interface Outcome {
  readonly verdict: ExplainVerdict;
  readonly outPort?: DecodedValue;
  readonly tunnel?: TunnelCrossing;
}

/** The summary's parts as the explainers gather them. */
interface SummaryParts extends Outcome {
  readonly inPort: DecodedValue | undefined;
  readonly datapaths: readonly DecodedValue[];
  readonly backend: DecodedValue | undefined;
  readonly snat: DecodedValue | undefined;
}

/** `lines` index the trace's {@link traceLines}: the lines ovn-detrace's annotations are placed among. */
function explained(
  tool: ExplainedTrace["tool"],
  p: SummaryParts,
  lines: readonly DecodedLine[],
): ExplainedTrace {
  const summary: ExplainSummary = {
    ...(p.inPort === undefined ? {} : { inPort: p.inPort }),
    ...(p.outPort === undefined ? {} : { outPort: p.outPort }),
    datapaths: p.datapaths,
    tunnels: p.tunnel === undefined ? [] : [p.tunnel],
    ...(p.backend === undefined ? {} : { backend: p.backend }),
    ...(p.snat === undefined ? {} : { snat: p.snat }),
    verdict: p.verdict,
  };
  return { tool, summary, lines };
}

// --- ofproto/trace ------------------------------------------------------------------------------------

const MATCH_FIELDS = new Set([
  "metadata",
  "reg0",
  "xxreg0",
  "xreg0",
  "reg11",
  "reg12",
  "reg13",
  "reg14",
  "reg15",
  "in_port",
  "tun_id",
  "tun_metadata0",
  "tun_src",
  "tun_dst",
  "ct_zone",
]);
const ZONE_REGS = new Set(["reg11", "reg12", "reg13", "ct_zone"]);
/** Where reg0 sits in the wider registers (xxreg0 = reg0..reg3, xreg0 = reg0:reg1, most significant first). */
const REG0_OFFSET: Readonly<Record<string, number>> = { reg0: 0, xreg0: 32, xxreg0: 96 };
const NOW_FIELD: Readonly<Record<string, string>> = {
  OXM_OF_METADATA: "metadata",
  NXM_NX_TUN_ID: "tun_id",
  NXM_NX_TUN_METADATA0: "tun_metadata0",
};

interface OutputEvent {
  readonly pass: number;
  readonly bridge: string;
  readonly ofport?: number;
  readonly normal?: boolean;
}

/** Walks the trace line by line, with the bridge, datapath and tunnel key in force at each line. */
class OfprotoWalker {
  readonly lines: DecodedLine[] = [];
  readonly datapaths: number[] = [];
  readonly outputs: OutputEvent[] = [];
  /** The last logical ports named in reg14/reg15 of the last pass. */
  readonly lastPort: { reg14?: string; reg15?: string } = {};
  private pass = -1;
  private bridges: { name: string; indent: number }[] = [];
  private metadata: number | undefined;
  private tunId: number | undefined;
  private announced = new Map<string, string>();
  private passTunIds: (number | undefined)[] = [];

  constructor(
    private readonly d: OvnDecoder,
    private readonly text: readonly string[],
  ) {
    this.passTunIds = passTunnelKeys(text);
  }

  run(): void {
    this.text.forEach((line, i) => {
      const values = this.decodeLine(line);
      if (values.length > 0) this.lines.push({ index: i, values });
    });
  }

  private get bridge(): string {
    return this.bridges.at(-1)?.name ?? this.d.integrationBridge;
  }

  private decodeLine(raw: string): DecodedValue[] {
    const line = raw.trimEnd();
    const indent = line.length - line.trimStart().length;
    const trimmed = line.trim();
    if (trimmed === "" || /^\*/.test(trimmed)) return [];
    const flow = /^Flow: (.*)$/.exec(line);
    if (flow !== null) {
      this.pass++;
      this.bridges = [];
      this.announced = new Map();
      this.tunId = this.passTunIds[this.pass];
      delete this.lastPort.reg14;
      delete this.lastPort.reg15;
      return this.matchValues(flow[1] ?? "", true);
    }
    const final = /^Final flow: (.*)$/.exec(line);
    if (final !== null) return this.matchValues(final[1] ?? "", true);
    if (
      /^(?:Megaflow|Trace reached|Translation failed|recirc\(|Replacing|\s*(?:Initial|Modified) flow)/.test(
        trimmed,
      )
    )
      return [];
    const dpActions = /^Datapath actions: (.*)$/.exec(line);
    if (dpActions !== null) return this.datapathActionValues(dpActions[1] ?? "");
    while (this.bridges.length > 0 && (this.bridges.at(-1)?.indent ?? 0) > indent) this.bridges.pop();
    const bridge = /^bridge\("([^"]+)"\)$/.exec(trimmed);
    if (bridge !== null) {
      this.bridges.push({ name: bridge[1] ?? "", indent });
      return [];
    }
    const table = /^(\d+)\.\s+(.*)$/.exec(trimmed);
    if (table !== null) return this.tableValues(table[2] ?? "");
    if (trimmed.startsWith("clone(")) return []; // its actions are printed again, one per line, below it
    return this.actionValues(trimmed);
  }

  /** `name=value` items of a flow or of a rule's match; a match's metadata applies to the whole line. */
  private matchValues(text: string, wholeFlow: boolean): DecodedValue[] {
    const items = new Map<string, string>();
    for (const item of text.split(",")) {
      const eq = item.indexOf("=");
      if (eq > 0) items.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
    }
    const md = items.get("metadata");
    if (md !== undefined) this.metadata = parseNumber(md);
    const tun = items.get("tun_id");
    if (tun !== undefined) this.tunId = parseNumber(tun);
    const out: DecodedValue[] = [];
    for (const [field, value] of items) {
      if (!MATCH_FIELDS.has(field) || value === "ANY") continue;
      if (this.announced.get(field) === value) continue;
      this.announced.set(field, value);
      const v = this.decodeField(field, value, wholeFlow);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  private tableValues(rest: string): DecodedValue[] {
    const match = rest.split(/, priority \d+/)[0] ?? "";
    const out = /^No match/.test(rest) ? [] : this.matchValues(match, false);
    if (
      this.metadata !== undefined &&
      /(^|,)metadata=/.test(match) &&
      this.datapaths.at(-1) !== this.metadata
    )
      this.datapaths.push(this.metadata);
    const cookie = /cookie (0x[0-9a-f]+)/.exec(rest)?.[1];
    const c = cookie === undefined ? undefined : this.d.describeCookie(cookie);
    if (c !== undefined) out.push(c);
    return out;
  }

  private actionValues(line: string): DecodedValue[] {
    const out: DecodedValue[] = [];
    const set = /^set_field:(\S+?)->(\w+)$/.exec(line);
    if (set !== null) {
      const [, value = "", field = ""] = set;
      if (field === "metadata") this.metadata = parseNumber(value);
      if (field === "tun_id") this.tunId = parseNumber(value);
      this.announced.set(field, value);
      const v = this.decodeField(field, value, false, true);
      if (v !== undefined) out.push(v);
      return out;
    }
    const now = /^-> (\w+)\[(\d+)(?:\.\.(\d+))?\] is now (\S+)$/.exec(line);
    if (now !== null) {
      const [, reg = "", lo = "0", , value = ""] = now;
      if (reg === "NXM_NX_XXREG0") {
        const bit = Number(lo) - 96;
        const v = this.reg0Bit(`NXM_NX_XXREG0[${lo}]`, value, bit);
        return v === undefined ? [] : [v];
      }
      const regNum = /^NXM_NX_REG(\d+)$/.exec(reg)?.[1];
      const field = regNum !== undefined ? `reg${regNum}` : NOW_FIELD[reg];
      if (field === undefined) return [];
      if (field === "metadata") this.metadata = parseNumber(value);
      if (field === "tun_id") this.tunId = parseNumber(value);
      if (lo === "0") this.announced.set(field, value);
      const v = this.decodeField(field, value, false, true);
      return v === undefined ? [] : [v];
    }
    const move = /^move:\S+->NXM_NX_XXREG0\[(\d+)\]$/.exec(line);
    if (move !== null) return []; // its value follows on the "-> ... is now" line
    const output = /^output:(\d+)$/.exec(line);
    if (output !== null) {
      const port = Number(output[1]);
      this.outputs.push({ pass: this.pass, bridge: this.bridge, ofport: port });
      out.push(this.d.describeOfport("output", output[1] ?? "", this.bridge));
      return out;
    }
    if (line === "NORMAL") this.outputs.push({ pass: this.pass, bridge: this.bridge, normal: true });
    const tunnel = /^-> tunneling to (\S+) via/.exec(line);
    if (tunnel !== null) out.push(this.d.describeEncapIp("tunnel to", tunnel[1] ?? ""));
    const nat = /^nat\((src|dst)=([^,)]+)/.exec(line);
    if (nat !== null) out.push(this.natValue(nat[1] ?? "", nat[2] ?? ""));
    return out;
  }

  private natValue(direction: string, addr: string): DecodedValue {
    return direction === "dst"
      ? this.d.describeBackend("nat(dst)", addr)
      : this.d.describeSnat("nat(src)", addr.replace(/^\[|\]$/g, "").replace(/-.*$/, ""));
  }

  private datapathActionValues(text: string): DecodedValue[] {
    let actions: DatapathAction[];
    try {
      actions = parseDatapathActions(text);
    } catch {
      return [];
    }
    const out: DecodedValue[] = [];
    const visit = (list: readonly DatapathAction[]): void => {
      for (const a of list) {
        if (a.kind === "ct") {
          if (a.zone !== null) out.push(this.d.describeCtZone("ct zone", String(a.zone)));
          if (a.nat?.addr != null)
            out.push(this.natValue(a.nat.direction ?? "", hostPort(a.nat.addr, a.nat.port)));
        }
        if (a.kind === "clone" || a.kind === "sample") visit(a.actions);
      }
    };
    visit(actions);
    const t = tunnelOf(actions);
    if (t !== null && t.vni !== null) {
      out.push(this.d.describeDatapath("vni", hex(t.vni), t.vni));
      const ports = geneveOption(t);
      if (ports !== undefined) out.push(this.d.describeTunnelPorts("geneve ports", hex(ports), t.vni));
      if (t.dst !== null) out.push(this.d.describeEncapIp("tunnel to", t.dst));
    }
    return out;
  }

  private reg0Bit(field: string, value: string, bit: number): DecodedValue | undefined {
    if (bit < 0 || bit > 31) return undefined;
    const on = parseNumber(value) === 1 ? 1n : 0n;
    const v = this.d.describeReg0Bits(
      field,
      `0x${(on << BigInt(bit)).toString(16)}/0x${(1n << BigInt(bit)).toString(16)}`,
      0,
      this.metadata,
    );
    return v === undefined ? undefined : { ...v, raw: value };
  }

  private decodeField(
    field: string,
    value: string,
    wholeFlow: boolean,
    isSet = false,
  ): DecodedValue | undefined {
    const n = parseNumber(value);
    switch (field) {
      case "metadata":
        return this.d.describeDatapath(field, value);
      case "tun_id":
        return this.d.describeDatapath(field, value);
      case "reg14":
      case "reg15": {
        if (n === 0 && isSet) return undefined;
        const v = this.d.describePort(field, value, this.metadata);
        const name =
          n === undefined || this.metadata === undefined ? undefined : this.d.portName(this.metadata, n);
        if (name !== undefined) this.lastPort[field] = name;
        return v;
      }
      case "reg11":
      case "reg12":
      case "reg13":
      case "ct_zone":
        if (n === 0) return undefined;
        return ZONE_REGS.has(field) ? this.d.describeCtZone(field, value) : undefined;
      case "in_port":
        return this.d.describeOfport(field, value, this.bridge);
      case "tun_metadata0":
        return this.d.describeTunnelPorts(field, value, this.tunId);
      case "tun_src":
      case "tun_dst":
        return this.d.describeEncapIp(field, value);
      case "reg0":
      case "xreg0":
      case "xxreg0": {
        const offset = REG0_OFFSET[field] ?? 0;
        if (!value.includes("/")) {
          // a whole flow's reg0: the bits that are set
          if (!wholeFlow || field !== "reg0" || n === undefined || n === 0) return undefined;
          const v = this.d.describeReg0Bits(field, `${value}/${value}`, 0, this.metadata);
          return v === undefined ? undefined : { ...v, raw: value };
        }
        return this.d.describeReg0Bits(field, value, offset, this.metadata);
      }
      default:
        return undefined;
    }
  }
}

/** Per pass, the tunnel key the packet came in with (tun_id in any flow line, or moved into metadata). */
function passTunnelKeys(lines: readonly string[]): (number | undefined)[] {
  const keys: (number | undefined)[] = [];
  let pass = -1;
  let movedFromTunnel = false;
  for (const line of lines) {
    if (line.startsWith("Flow: ")) {
      pass++;
      keys.push(undefined);
    }
    if (pass < 0 || keys[pass] !== undefined) continue;
    const t = /(?:^|[,: ])tun_id=(0x[0-9a-f]+)/.exec(line)?.[1];
    if (t !== undefined) keys[pass] = parseNumber(t);
    if (/move:NXM_NX_TUN_ID\[0\.\.23\]->OXM_OF_METADATA/.test(line)) movedFromTunnel = true;
    const now = /-> OXM_OF_METADATA\[0\.\.23\] is now (0x[0-9a-f]+)/.exec(line)?.[1];
    if (movedFromTunnel && now !== undefined) {
      keys[pass] = parseNumber(now);
      movedFromTunnel = false;
    }
  }
  return keys;
}

// --- the verdicts of both traces ---------------------------------------------------------------------

const objectsOf = (...vs: (DecodedValue | undefined)[]): KubeObjectRef[] =>
  vs.flatMap((v) => v?.objects ?? []);

/** A drop or reject explained from the logical flow of its cookie (NetworkPolicy, Service without endpoints...). */
function whyDropped(
  d: OvnDecoder,
  where: DropSite,
  pods: PodsOfPacket,
): { text: string; objects: readonly KubeObjectRef[] } {
  const { nb, sb } = d.sources;
  const key = where.cookie ?? where.lflowUuid;
  if (key === undefined)
    return { text: "no logical flow to explain it (the last step has no cookie)", objects: [] };
  if (nb === undefined || sb === undefined)
    return {
      text: `unknown (${key}: the ${nb === undefined ? "northbound" : "southbound"} database is missing)`,
      objects: [],
    };
  const e = explainDrop({ nb, sb }, where, pods);
  return e === undefined ? { text: `unknown (${key})`, objects: [] } : { text: e.text, objects: e.objects };
}

function podPort(d: OvnDecoder, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  return d.portMeaning(name)?.objects.some((o) => o.kind === "Pod") === true ? name : undefined;
}

/** The logical ports of the packet's ends that are pods. */
function podsOf(d: OvnDecoder, src: string | undefined, dst: string | undefined): PodsOfPacket {
  const srcPod = podPort(d, src);
  const dstPod = podPort(d, dst);
  return {
    ...(srcPod === undefined ? {} : { src: srcPod }),
    ...(dstPod === undefined ? {} : { dst: dstPod }),
  };
}

/** The parser's reading of the whole trace; undefined when it cannot read it (its lines are decoded anyway). */
function parsedOrUndefined<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** OVN's Geneve option, `ingress key << 16 | egress key`, when the tunnel carries it. */
function geneveOption(t: OvnTunnel): number | undefined {
  return t.ovnEgressPortKey === null ? undefined : (t.ovnIngressPortKey ?? 0) * 0x10000 + t.ovnEgressPortKey;
}

const UNREADABLE: Outcome = {
  verdict: { kind: "unknown", text: "unknown (the trace could not be read)", objects: [] },
};

const natSuffix = (snat: DecodedValue | undefined): string =>
  snat === undefined ? "" : `, source NAT to ${snat.raw} (${snat.meaning})`;

/** A reject named from the cookie of its logical flow: a Service without endpoints when its load balancer rejects. */
function rejectVerdict(cookie: DecodedValue | undefined, by: string, otherwise: string): ExplainVerdict {
  const svc = cookie?.objects?.find((o) => o.kind === "Service");
  const why =
    svc !== undefined
      ? `Service ${svc.namespace ?? ""}/${svc.name} has no endpoints: its load balancer rejects the connection`
      : (cookie?.meaning ?? otherwise);
  return { kind: "rejected", text: `rejected (${by}): ${why}`, objects: objectsOf(cookie) };
}

// --- ofproto/trace: the summary ----------------------------------------------------------------------

/** Explains a `ovs-appctl ofproto/trace` output (plain or already annotated by ovn-detrace). */
export function explainOfprotoTrace(text: string, sources: DecodeSources): ExplainedTrace {
  const d = new OvnDecoder(sources);
  const walker = new OfprotoWalker(d, traceLines(text));
  walker.run();
  const doc = parsedOrUndefined(() => parseOfprotoTrace(text));
  const datapaths = walker.datapaths.map((k) => d.describeDatapath("metadata", hex(k), k));
  const { backend, snat } = natTargets(d, doc?.passes.flatMap((p) => p.datapathActions.actions) ?? []);
  const outcome = doc === undefined ? UNREADABLE : ofprotoOutcome({ d, walker, doc, datapaths, snat });
  const inPort = ofprotoInPort(d, doc);
  return explained("ofproto/trace", { inPort, datapaths, backend, snat, ...outcome }, walker.lines);
}

/** Where the packet came in: from a tunnel, or by an OpenFlow port. */
function ofprotoInPort(d: OvnDecoder, doc: OfprotoTraceDocument | undefined): DecodedValue | undefined {
  const firstFlow = doc?.passes[0]?.flow.values ?? {};
  if (firstFlow.tun_src !== undefined) return d.describeEncapIp("from tunnel", firstFlow.tun_src);
  return firstFlow.in_port === undefined ? undefined : d.describeOfport("in_port", firstFlow.in_port);
}

/** The first destination NAT (a load balancer's backend) and source NAT of the datapath actions. */
function natTargets(
  d: OvnDecoder,
  actions: readonly DatapathAction[],
): { backend?: DecodedValue; snat?: DecodedValue } {
  let backend: DecodedValue | undefined;
  let snat: DecodedValue | undefined;
  for (const a of flattenActions(actions)) {
    if (a.kind !== "ct" || a.nat?.addr == null || a.nat.direction === null) continue;
    if (a.nat.direction === "dst") backend ??= d.describeBackend("backend", hostPort(a.nat.addr, a.nat.port));
    else snat ??= d.describeSnat("snat", a.nat.addr);
  }
  return { backend, snat };
}

/** The tunnel the last pass sends the packet into. */
function tunnelCrossing(d: OvnDecoder, actions: readonly DatapathAction[]): TunnelCrossing | undefined {
  const t = tunnelOf(actions);
  if (t === null || t.vni === null) return undefined;
  const remoteNode = t.dst === null ? undefined : d.nodeOfEncapIp(t.dst);
  const ports = geneveOption(t);
  return {
    vni: t.vni,
    vniHex: hex(t.vni),
    datapath: d.describeDatapath("vni", hex(t.vni), t.vni),
    ...(t.dst === null ? {} : { remoteIp: t.dst }),
    ...(remoteNode === undefined ? {} : { remoteNode }),
    ...(ports === undefined ? {} : { ports: d.describeTunnelPorts("geneve ports", hex(ports), t.vni) }),
  };
}

/** What the verdict of a readable ofproto/trace is decided from. */
interface OfprotoFacts {
  readonly d: OvnDecoder;
  readonly walker: OfprotoWalker;
  readonly doc: OfprotoTraceDocument;
  readonly datapaths: readonly DecodedValue[];
  readonly snat: DecodedValue | undefined;
}

function ofprotoOutcome(f: OfprotoFacts): Outcome {
  const lastActions = f.doc.passes.at(-1)?.datapathActions.actions ?? [];
  const tunnel = tunnelCrossing(f.d, lastActions);
  if (tunnel !== undefined) return tunnelOutcome(f.d, tunnel);
  const finalOut = finalOutput(f);
  if (dpOutputs(lastActions) && finalOut !== undefined) return outputOutcome(f, finalOut);
  return {
    verdict:
      controllerReject(f.d, lastActions) ??
      (lastActions.at(-1)?.kind === "recirc" ? recircVerdict(lastActions) : ofprotoDropVerdict(f)),
  };
}

function tunnelOutcome(d: OvnDecoder, tu: TunnelCrossing): Outcome {
  const to = tu.remoteNode === undefined ? `${tu.remoteIp ?? "?"} (node unknown)` : `node ${tu.remoteNode}`;
  const datapath = d.datapath(tu.vni)?.name ?? "unknown datapath";
  return {
    outPort: tu.ports,
    tunnel: tu,
    verdict: {
      kind: "tunnel",
      text: `sent through the tunnel to ${to} with tunnel id ${tu.vniHex} (${tu.vni}: ${datapath})${egressName(tu)}`,
      objects: objectsOf(tu.datapath, tu.ports),
    },
  };
}

function dpOutputs(actions: readonly DatapathAction[]): boolean {
  return actions.some(
    (a) =>
      a.kind === "output" ||
      a.kind === "tnl_push" ||
      a.kind === "set_tunnel" ||
      ((a.kind === "clone" || a.kind === "sample") && dpOutputs(a.actions)),
  );
}

/** The last output of the last pass that is not into a patch port (which only leads to another bridge). */
function finalOutput({ d, walker, doc }: OfprotoFacts): OutputEvent | undefined {
  const lastPass = doc.passes.length - 1;
  return [...walker.outputs]
    .reverse()
    .find(
      (o) =>
        o.pass === lastPass &&
        (o.normal === true || d.interfaceOf(o.ofport ?? -1, o.bridge)?.type !== "patch"),
    );
}

/** Delivered by the integration bridge, or out of another bridge: out of the cluster. */
function outputOutcome({ d, datapaths, snat }: OfprotoFacts, out: OutputEvent): Outcome {
  if (out.bridge === d.integrationBridge && out.ofport !== undefined) {
    const outPort = d.describeOfport("output", String(out.ofport), out.bridge);
    return {
      outPort,
      verdict: { kind: "delivered", text: `delivered to ${outPort.meaning}`, objects: objectsOf(outPort) },
    };
  }
  const gateway = datapaths.find(
    (x) => x.objects?.some((o) => o.kind === "Node") && /\(gateway router of node /.test(x.meaning),
  );
  const outPort: DecodedValue =
    out.ofport === undefined
      ? { field: "output", raw: "NORMAL", meaning: `bridge ${out.bridge} (NORMAL switching)`, known: true }
      : d.describeOfport("output", String(out.ofport), out.bridge);
  const via = gateway === undefined ? "" : ` through the ${gatewayText(gateway)}`;
  return {
    outPort,
    verdict: {
      kind: "left-cluster",
      text: `left the cluster on bridge ${out.bridge}${via}${natSuffix(snat)}`,
      objects: objectsOf(gateway, snat),
    },
  };
}

/** A packet sent to ovn-controller by a logical flow that rejects it. */
function controllerReject(d: OvnDecoder, actions: readonly DatapathAction[]): ExplainVerdict | undefined {
  const cookie = ruleCookieOfController(actions);
  const lflow = cookie === undefined ? undefined : d.cookieRows(cookie).logicalFlow;
  if (cookie === undefined || lflow === undefined || !/\breject\b/.test(stringColumn(lflow, "actions") ?? ""))
    return undefined;
  const stage = externalIds(lflow)["stage-name"] ?? "";
  return rejectVerdict(d.describeCookie(cookie), cookie, `logical flow ${stage} rejects`);
}

function ruleCookieOfController(actions: readonly DatapathAction[]): string | undefined {
  for (const a of actions) {
    if (a.kind !== "userspace") continue;
    const c = /rule_cookie=(0x[0-9a-f]+)/.exec(a.text)?.[1];
    if (c !== undefined) return c;
  }
  return undefined;
}

function recircVerdict(actions: readonly DatapathAction[]): ExplainVerdict {
  const lb = actions.some((a) => a.kind === "hash");
  return {
    kind: "unknown",
    text: lb
      ? "unknown: the trace stops at a load balancer's select group (hash, then recirculation): trace again with a dp_hash=N in the flow to pick a backend"
      : "unknown: the trace stops at a recirculation (trace again with --ct-next to follow it)",
    objects: [],
  };
}

/** A drop, explained from the cookie of the last table step. */
function ofprotoDropVerdict({ d, walker, doc }: OfprotoFacts): ExplainVerdict {
  const last = doc.passes.at(-1);
  const step = last === undefined ? null : lastTableStep(last);
  const cookie = step?.cookie ?? undefined;
  const why = whyDropped(
    d,
    cookie === undefined ? {} : { cookie, earlier: cookiesBeforeLast(doc) },
    podsOf(d, walker.lastPort.reg14, walker.lastPort.reg15),
  );
  const where =
    step === null
      ? ""
      : ` in ${step.bridge} table ${step.table}${cookie === undefined ? "" : ` (cookie ${cookie})`}`;
  return { kind: "dropped", text: `dropped${where}: ${why.text}`, objects: why.objects };
}

/** "gateway router of node X" from a gateway router's decoded datapath. */
function gatewayText(dp: DecodedValue): string {
  return /gateway router of node \S+/.exec(dp.meaning)?.[0] ?? dp.meaning;
}

/** ", towards port X" from the tunnel's egress port (the Geneve option's low 16 bits). */
function egressName(t: TunnelCrossing): string {
  const m = t.ports === undefined ? undefined : /egress \d+ = port (\S+)/.exec(t.ports.meaning)?.[1];
  return m === undefined ? "" : `, to its port ${m}`;
}

function flattenActions(actions: readonly DatapathAction[]): DatapathAction[] {
  return actions.flatMap((a) =>
    a.kind === "clone" || a.kind === "sample" ? [a, ...flattenActions(a.actions)] : [a],
  );
}

// --- ovn-trace ----------------------------------------------------------------------------------------

const PIPELINE = /^\s*(ingress|egress)\(dp="([^"]*)"(?:, inport="([^"]*)")?(?:, outport="([^"]*)")?\)/;
const STAGE = /^\s*\d+\. .*, uuid ([0-9a-f]{8})\s*$/;

/** Walks an ovn-trace output line by line, naming the logical objects each line shows. */
class OvnTraceWalker {
  readonly lines: DecodedLine[] = [];
  /** The logical datapaths of the pipelines, in order, each once per visit. */
  readonly datapathNames: string[] = [];
  /** The first pipeline's logical inport. */
  inPort: DecodedValue | undefined;
  /** The uuid of the logical flow that rejects the packet ("" for a reject before any). */
  rejectedBy: string | undefined;
  private lastStage: string | undefined;
  private switchPipeline = false;

  constructor(
    private readonly d: OvnDecoder,
    private readonly text: readonly string[],
  ) {}

  run(): void {
    this.text.forEach((line, index) => {
      const values = [
        ...this.microflowValues(line),
        ...this.pipelineValues(line),
        ...this.stageValues(line),
        ...this.actionValues(line),
      ];
      if (values.length > 0) this.lines.push({ index, values });
    });
  }

  /** The microflow's logical inport (`# ...reg14=0x3...`), in the datapath of the first pipeline. */
  private microflowValues(line: string): DecodedValue[] {
    const inReg = /^# \S*\breg14=(0x[0-9a-f]+)/.exec(line)?.[1];
    if (inReg === undefined) return [];
    const first = this.text.map((l) => PIPELINE.exec(l)?.[2]).find((x) => x !== undefined);
    const key = first === undefined ? undefined : datapathKeyByName(this.d, first);
    return [this.d.describePort("reg14", inReg, key)];
  }

  private pipelineValues(line: string): DecodedValue[] {
    const p = PIPELINE.exec(line);
    if (p === null) return [];
    const [, , dp = "", inport, outport] = p;
    if (this.datapathNames.at(-1) !== dp) this.datapathNames.push(dp);
    const values = [datapathByName(this.d, dp)];
    if (inport !== undefined) {
      const v = namedPort(this.d, "inport", inport);
      this.inPort ??= v;
      values.push(v);
    }
    if (outport !== undefined) values.push(namedPort(this.d, "outport", outport));
    return values;
  }

  /** A stage line's logical flow, by its uuid; and whether the actions that follow are a switch's or a router's. */
  private stageValues(line: string): DecodedValue[] {
    const stageName = /^\s*\d+\. (l[sr])_(?:in|out)_\w+ /.exec(line)?.[1];
    if (stageName !== undefined) this.switchPipeline = stageName === "ls";
    const stage = STAGE.exec(line)?.[1];
    if (stage !== undefined) this.lastStage = stage;
    const c = stage === undefined ? undefined : this.d.describeCookie(stage);
    return c === undefined ? [] : [{ ...c, field: "uuid" }];
  }

  private actionValues(line: string): DecodedValue[] {
    if (/^\s*reject\b/.test(line)) this.rejectedBy ??= this.lastStage ?? "";
    const values = this.switchPipeline ? reg0BitNames(line) : [];
    const lb = /\bct_lb(?:_mark)?\(backends=([^);]*)\)/.exec(line)?.[1];
    for (const b of lb?.split(",").filter((x) => x !== "") ?? [])
      values.push(this.d.describeBackend("backend", b.split("=")[0] ?? b));
    const snat = /^\s*ct_snat\((?:ip[46]\.src=)?([^)=]+)\)/.exec(line)?.[1];
    if (snat !== undefined) values.push(this.d.describeSnat("ct_snat", snat.trim()));
    const out = /^\s*outport = "([^"]+)";/.exec(line)?.[1] ?? /\/\* output to "([^"]+)"/.exec(line)?.[1];
    if (out !== undefined) values.push(namedPort(this.d, "outport", out));
    return values;
  }
}

/** Explains an `ovn-trace` output: the logical stages already carry names; this adds their Kubernetes objects. */
export function explainOvnTrace(text: string, sources: DecodeSources): ExplainedTrace {
  const d = new OvnDecoder(sources);
  const lines = traceLines(text);
  const walker = new OvnTraceWalker(d, lines);
  walker.run();
  const doc = parsedOrUndefined(
    () => parseOvnTraces(text).find((x) => x.form === "detailed") ?? parseOvnTraces(text)[0],
  );
  const datapaths = walker.datapathNames.map((n) => datapathByName(d, n));
  const snat = walker.lines.flatMap((l) => l.values).find((v) => v.field === "ct_snat");
  const dnat = lines
    .map((l) => /^\s*ct_(?:lb_mark|lb|dnat)\(ip[46]\.dst=([^)\s]+)\)/.exec(l)?.[1])
    .find((x) => x !== undefined);
  const backend = dnat === undefined ? undefined : d.describeBackend("backend", dnat);
  const outcome =
    doc?.verdict === undefined ? UNREADABLE : ovnOutcome({ d, lines, walker, datapaths, snat }, doc.verdict);
  const inPort = walker.inPort;
  return explained("ovn-trace", { inPort, datapaths, backend, snat, ...outcome }, walker.lines);
}

/** What the verdict of an ovn-trace is decided from, besides the one ovn-trace gives. */
interface OvnFacts {
  readonly d: OvnDecoder;
  readonly lines: readonly string[];
  readonly walker: OvnTraceWalker;
  readonly datapaths: readonly DecodedValue[];
  readonly snat: DecodedValue | undefined;
}

function ovnOutcome(f: OvnFacts, v: OvnTraceVerdict): Outcome {
  const rejectedBy = f.walker.rejectedBy;
  if (rejectedBy !== undefined) {
    const c = rejectedBy === "" ? undefined : f.d.describeCookie(rejectedBy);
    return {
      verdict: rejectVerdict(c, `logical flow ${rejectedBy}`, `logical flow ${rejectedBy} rejects it`),
    };
  }
  if (v.kind === "output") return ovnOutputOutcome(f, v);
  if (v.kind === "dropped") return { verdict: ovnDropVerdict(f, v) };
  return { verdict: { kind: "unknown", text: `ovn-trace could not trace: ${v.message}`, objects: [] } };
}

/** Output to a port in another zone (through a tunnel), to a localnet port (out of the cluster), or delivered. */
function ovnOutputOutcome({ d, datapaths, snat }: OvnFacts, v: OvnTraceOutputVerdict): Outcome {
  const outPort = namedPort(d, "outport", v.port);
  if (v.portType === "remote") {
    const t = remotePortTunnel(d, v.port);
    const to = t?.remoteNode === undefined ? "an unknown node" : `node ${t.remoteNode}`;
    return {
      outPort,
      ...(t === undefined ? {} : { tunnel: t }),
      verdict: {
        kind: "tunnel",
        text: `output to ${v.port}, a port in another zone${t === undefined ? "" : `: tunnel id ${t.vniHex} (${t.vni}) to ${to}`}`,
        objects: objectsOf(outPort),
      },
    };
  }
  if (v.portType === "localnet") {
    const gw = datapaths.find((x) => x.raw.startsWith("GR_"));
    return {
      outPort,
      verdict: {
        kind: "left-cluster",
        text: `left the cluster through ${v.port}${gw === undefined ? "" : `, ${gatewayText(gw)}`}${natSuffix(snat)}`,
        objects: objectsOf(outPort, gw, snat),
      },
    };
  }
  return {
    outPort,
    verdict: {
      kind: "delivered",
      text: `output to ${outPort.raw} (${outPort.meaning})`,
      objects: objectsOf(outPort),
    },
  };
}

function ovnDropVerdict({ d, lines, walker }: OvnFacts, v: OvnTraceDroppedVerdict): ExplainVerdict {
  const pods = podsOf(d, walker.inPort?.raw, lastOutport(lines));
  const earlier = lines.flatMap((l) => STAGE.exec(l)?.[1] ?? []);
  const why = whyDropped(d, v.uuid === undefined ? {} : { lflowUuid: v.uuid, earlier }, pods);
  const where = [v.datapath, v.stage].filter((x) => x !== undefined).join(" ");
  return {
    kind: "dropped",
    text: `dropped${where === "" ? "" : ` in ${where}`}: ${v.uuid === undefined ? v.message : why.text}`,
    objects: why.objects,
  };
}

/** `reg0[N]` and the ACL verdict bits of reg8 in a logical switch's action or match, named as ovn-northd names them. */
function reg0BitNames(line: string): DecodedValue[] {
  const seen = new Set<number>();
  const out: DecodedValue[] = [];
  for (const m of line.matchAll(/\breg0\[(\d+)\]/g)) {
    const bit = Number(m[1]);
    const n = SWITCH_REG0_BITS[bit];
    if (n === undefined || seen.has(bit)) continue;
    seen.add(bit);
    out.push({
      field: `reg0[${String(bit)}]`,
      raw: `reg0[${String(bit)}]`,
      meaning: `${n[0]} (${n[1]})`,
      known: true,
    });
  }
  for (const m of new Set(line.match(/\breg8\[\d+(?:\.\.\d+)?\]/g))) {
    const n = SWITCH_ACL_VERDICT_REG8[m];
    if (n !== undefined) out.push({ field: m, raw: m, meaning: `${n[0]} (${n[1]})`, known: true });
  }
  return out;
}

/** The ACL verdict and tier registers of ovn-northd 23.06+ (tiered ACLs: *_acl_eval, then *_acl_action). */
const SWITCH_ACL_VERDICT_REG8: Readonly<Record<string, readonly [string, string]>> = {
  "reg8[16]": ["REGBIT_ACL_VERDICT_ALLOW", "ACL verdict: allow"],
  "reg8[17]": ["REGBIT_ACL_VERDICT_DROP", "ACL verdict: drop"],
  "reg8[18]": ["REGBIT_ACL_VERDICT_REJECT", "ACL verdict: reject"],
  "reg8[30..31]": ["REG_ACL_TIER", "the ACL tier being evaluated"],
};

function lastOutport(lines: readonly string[]): string | undefined {
  let port: string | undefined;
  for (const l of lines) port = PIPELINE.exec(l)?.[4] ?? port;
  return port;
}

function namedPort(d: OvnDecoder, field: string, name: string): DecodedValue {
  const m = d.portMeaning(name);
  return m === undefined
    ? {
        field,
        raw: name,
        meaning: `unknown (no pod or ovn-kubernetes port ${d.sources.nb === undefined ? "known: no northbound database" : "by that name"})`,
        known: false,
      }
    : {
        field,
        raw: name,
        meaning: m.text,
        known: true,
        ...(m.objects.length === 0 ? {} : { objects: m.objects }),
      };
}

function datapathKeyByName(d: OvnDecoder, name: string): number | undefined {
  const sb = d.sources.sb;
  const row =
    sb === undefined
      ? undefined
      : tableRows(sb, "Datapath_Binding").find((r) => externalIds(r).name === name);
  return row === undefined ? undefined : Number(row.columns.tunnel_key);
}

function datapathByName(d: OvnDecoder, name: string): DecodedValue {
  const sb = d.sources.sb;
  const key = datapathKeyByName(d, name);
  const info = key === undefined ? undefined : d.datapath(key);
  if (info !== undefined)
    return {
      field: "dp",
      raw: name,
      meaning: datapathText(info),
      known: true,
      ...(info.meaning === undefined ? {} : { objects: info.meaning.objects }),
    };
  const m = datapathMeaning(name, undefined, new Set());
  return m === undefined
    ? {
        field: "dp",
        raw: name,
        meaning: `unknown (${sb === undefined ? "no southbound database" : "no datapath by that name"})`,
        known: false,
      }
    : { field: "dp", raw: name, meaning: m.text, known: true, objects: m.objects };
}

/** The tunnel a `remote` port is reached by: its datapath's key (the VNI), its own key, and its chassis. */
function remotePortTunnel(d: OvnDecoder, port: string): TunnelCrossing | undefined {
  const sb = d.sources.sb;
  if (sb === undefined) return undefined;
  const pb = tableRows(sb, "Port_Binding").find((r) => stringColumn(r, "logical_port") === port);
  const dpRow =
    pb === undefined ? undefined : rowByUuid(sb, "Datapath_Binding", stringColumn(pb, "datapath"));
  const vni = dpRow === undefined ? undefined : Number(dpRow.columns.tunnel_key);
  if (pb === undefined || vni === undefined) return undefined;
  const chassis = rowByUuid(sb, "Chassis", stringColumn(pb, "chassis"));
  const host = chassis === undefined ? /^tstor-(.+)$/.exec(port)?.[1] : stringColumn(chassis, "hostname");
  const key = Number(pb.columns.tunnel_key);
  return {
    vni,
    vniHex: hex(vni),
    datapath: d.describeDatapath("vni", hex(vni), vni),
    ...(host === undefined ? {} : { remoteNode: host }),
    ports: d.describePort("egress", hex(key), vni),
  };
}
