import type { Check, Verdict } from "../model/report.js";
import type { Resolution } from "../model/target.js";
import type { TracedHop } from "../model/traced-hop.js";
import type { ActionLine, OfprotoTraceDocument, TableStep, TracePass } from "../model/ofproto-trace.js";
import { canonicalIp, hostPort, splitHostPort } from "../net/ip.js";
import { tableSteps } from "../parsers/ofproto-trace.js";
import { natEvents, undoNat, type NatEvent } from "./conntrack.js";
import { explained, type RunContext, type TracedDirection } from "./direction.js";
import { nodeView, runOfprotoTrace } from "./openflow-trace.js";
import { knownPods, type DirectionPlan } from "./plan.js";
import { crossingOf, flowSpec, tunnelFields, type OpenFlowPacket } from "./stitch.js";
import { checksOf, verdictOf } from "./verdict.js";

/**
 * The reply of a hairpinned connection (a pod to a Service whose load balancer picked the pod itself), as the real
 * packet goes. OVN's switch recognises it by a flow that the connection's first packet makes ovs-vswitchd learn: the
 * `learn(table=69,...)` of the chk_lb_hairpin flow (OFTABLE_CHK_LB_HAIRPIN_REPLY). The forward trace shows that
 * action with the values it copies, but ofproto/trace does not install it ("suppressing side effects"), and
 * ovn-trace does not implement chk_lb_hairpin_reply (it answers 0): without more, neither follows the reply. So:
 *
 * 1. the learned flow is read from the forward trace (its learn action and the packet it copies from);
 * 2. the reply's trace must reach that table on the same node with a packet the learned flow matches: there the real
 *    reply is recognised as a hairpin's;
 * 3. the switch then undoes the hairpin SNAT in the datapath's SNAT zone, which must be the zone of the forward's
 *    SNAT (conntrack gives the reply the sender's address and port back), and sends it back out of the port it came
 *    from (outport = inport, the loopback flag, Ethernet addresses swapped) into its egress pipeline;
 * 4. that egress is traced again, from a geneve arrival into the same switch for the same port with the loopback
 *    flag (OVN's egress pipeline takes it as it takes the hairpin); its conntrack undoes the load balancer's DNAT,
 *    so the reply arrives from the VIP.
 *
 * A step that cannot be established keeps the verdict unknown, saying which.
 */

/** The flow value names of the fields a learn action copies or sets, as ofproto/trace prints flows. */
const FIELDS: Readonly<Record<string, string>> = {
  OXM_OF_METADATA: "metadata",
  metadata: "metadata",
  NXM_OF_ETH_TYPE: "eth_type",
  eth_type: "eth_type",
  dl_type: "eth_type",
  NXM_OF_IP_PROTO: "nw_proto",
  nw_proto: "nw_proto",
  ip_proto: "nw_proto",
  NXM_OF_IP_SRC: "nw_src",
  OXM_OF_IPV4_SRC: "nw_src",
  ip_src: "nw_src",
  nw_src: "nw_src",
  NXM_OF_IP_DST: "nw_dst",
  OXM_OF_IPV4_DST: "nw_dst",
  ip_dst: "nw_dst",
  nw_dst: "nw_dst",
  NXM_NX_IPV6_SRC: "ipv6_src",
  OXM_OF_IPV6_SRC: "ipv6_src",
  ipv6_src: "ipv6_src",
  NXM_NX_IPV6_DST: "ipv6_dst",
  OXM_OF_IPV6_DST: "ipv6_dst",
  ipv6_dst: "ipv6_dst",
  NXM_OF_TCP_SRC: "tp_src",
  OXM_OF_TCP_SRC: "tp_src",
  tcp_src: "tp_src",
  NXM_OF_TCP_DST: "tp_dst",
  OXM_OF_TCP_DST: "tp_dst",
  tcp_dst: "tp_dst",
  NXM_OF_UDP_SRC: "tp_src",
  OXM_OF_UDP_SRC: "tp_src",
  udp_src: "tp_src",
  NXM_OF_UDP_DST: "tp_dst",
  OXM_OF_UDP_DST: "tp_dst",
  udp_dst: "tp_dst",
  OXM_OF_SCTP_SRC: "tp_src",
  sctp_src: "tp_src",
  OXM_OF_SCTP_DST: "tp_dst",
  sctp_dst: "tp_dst",
  tp_src: "tp_src",
  tp_dst: "tp_dst",
};

const IP_PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmp6: 58 };

/** A field of a learn action: `OXM_OF_METADATA[]`, `NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[]`, `ip_dst=169.254.169.5`. */
const fieldName = (s: string): string | undefined => FIELDS[s.replace(/\[\]$/, "")];

/** What the flow that a learn action installs matches, and the register bit it loads. */
export interface LearnedFlow {
  readonly table: number;
  /** Trace flow field → value, as the first packet's learn action sets them. */
  readonly match: ReadonlyMap<string, string>;
  /** `load:0x1->NXM_NX_REG10[7]`: the register and bit it sets. */
  readonly load?: { readonly register: string; readonly bit: number };
  /** The action as printed. */
  readonly text: string;
}

/** The values of a flow at a table step: the pass's flow, the exact (unmasked) fields of the rule it matched. */
export function valuesAt(pass: TracePass, step: TableStep | undefined): Record<string, string> {
  const v: Record<string, string> = { ...pass.flow.values };
  const proto = pass.flow.protocol ?? "";
  const base = proto.replace(/6$/, "");
  if (IP_PROTO[proto] !== undefined || IP_PROTO[base] !== undefined) {
    v.eth_type = proto.endsWith("6") ? "0x86dd" : "0x800";
    v.nw_proto = String(IP_PROTO[proto] ?? IP_PROTO[base]);
  }
  for (const item of (step?.match ?? "").split(",")) {
    const [k, val] = item.split("=");
    if (k !== undefined && val !== undefined && !val.includes("/") && k !== "priority") v[k] = val;
  }
  return v;
}

/**
 * The flow a learn action installs (`learn(table=69,...,OXM_OF_METADATA[],NXM_OF_IP_SRC[],ip_dst=169.254.169.5,...)`),
 * given the packet's values where it ran; an error names what this tool cannot read in it.
 */
export function learnedFlow(
  text: string,
  values: Readonly<Record<string, string>>,
): LearnedFlow | { readonly error: string } {
  const inner = /^learn\((.*)\)$/.exec(text)?.[1];
  if (inner === undefined) return { error: `not a learn action: ${text}` };
  let table: number | undefined;
  let load: LearnedFlow["load"];
  const match = new Map<string, string>();
  for (const item of inner.split(",")) {
    const prop =
      /^(table|cookie|priority|idle_timeout|hard_timeout|fin_idle_timeout|fin_hard_timeout)=(.*)$/.exec(item);
    if (prop !== null) {
      if (prop[1] === "table") table = Number(prop[2]);
      continue;
    }
    if (item === "delete_learned" || item === "send_flow_rem" || item === "limit" || item === "result_dst")
      continue;
    const ld = /^load:(0x[0-9a-f]+|\d+)->NXM_NX_(REG\d+)\[(\d+)\]$/i.exec(item);
    if (ld !== null && Number(ld[1]) === 1) {
      load = { register: (ld[2] ?? "").toLowerCase(), bit: Number(ld[3]) };
      continue;
    }
    const copy = /^([A-Za-z0-9_]+\[\])(?:=([A-Za-z0-9_]+\[\]))?$/.exec(item);
    if (copy !== null) {
      const to = fieldName(copy[1] ?? "");
      const from = fieldName(copy[2] ?? copy[1] ?? "");
      const value = from === undefined ? undefined : values[from];
      if (to === undefined || value === undefined)
        return { error: `its learn action copies a field this tool does not read (${item})` };
      match.set(to, value);
      continue;
    }
    const set = /^([a-z0-9_]+)=(.+)$/.exec(item);
    const to = set === null ? undefined : fieldName(set[1] ?? "");
    if (to === undefined || set?.[2] === undefined)
      return { error: `its learn action has a part this tool does not read (${item})` };
    match.set(to, set[2]);
  }
  if (table === undefined || !Number.isInteger(table)) return { error: `its learn action names no table` };
  return { table, match, ...(load === undefined ? {} : { load }), text };
}

/** Two printed values of one field: addresses by their canonical text, numbers by value. */
function sameValue(a: string, b: string): boolean {
  const ia = canonicalIp(a);
  const ib = canonicalIp(b);
  if (ia !== undefined || ib !== undefined) return ia === ib;
  if (/^(0x[0-9a-f]+|\d+)$/i.test(a) && /^(0x[0-9a-f]+|\d+)$/i.test(b)) return BigInt(a) === BigInt(b);
  return a === b;
}

/** The fields of the learned flow the packet does not match (empty: it matches). */
export function mismatches(flow: LearnedFlow, values: Readonly<Record<string, string>>): string[] {
  return [...flow.match].flatMap(([k, want]) => {
    const got = values[k];
    return got !== undefined && sameValue(got, want) ? [] : [`${k}=${got ?? "(none)"} (learned: ${want})`];
  });
}

interface Found<T> {
  readonly hop: TracedHop;
  readonly doc: OfprotoTraceDocument;
  readonly pass: TracePass;
  readonly step: TableStep;
  readonly found: T;
}

/** Every table step of a node's OpenFlow hops, with the pass it is in. */
function* stepsOn(hops: readonly TracedHop[], node: string) {
  for (const hop of hops) {
    const doc = hop.ofproto;
    if (doc === undefined || hop.hop.node !== node) continue;
    for (const pass of doc.passes)
      for (const step of tableSteps(pass.bridges)) yield { hop, doc, pass, step };
  }
}

const actionsOf = (step: TableStep): ActionLine[] =>
  step.items.flatMap((i) => (i.kind === "action" ? [i] : []));

/** The first packet's learn action of a hairpin check (the last one its traces on `node` show). */
function forwardLearn(hops: readonly TracedHop[], node: string): Found<ActionLine> | undefined {
  let last: Found<ActionLine> | undefined;
  for (const s of stepsOn(hops, node)) {
    const learn = actionsOf(s.step).find((a) => a.name === "learn" && a.text.startsWith("learn(table="));
    if (learn !== undefined) last = { ...s, found: learn };
  }
  return last;
}

/** The conntrack zone of the forward's SNAT to `snatIp`: a number, or the register that holds it. */
function snatZone(hops: readonly TracedHop[], node: string, snatIp: string): string | undefined {
  for (const s of stepsOn(hops, node))
    for (const a of actionsOf(s.step)) {
      if (a.name !== "ct" || !a.text.includes("nat(src=")) continue;
      const addr = /nat\(src=([^)]*)\)/.exec(a.text)?.[1];
      if (addr === undefined || canonicalIp(splitHostPort(addr).ip) !== canonicalIp(snatIp)) continue;
      const zone = /zone=([^,)]+)/.exec(a.text)?.[1];
      if (zone === undefined) return undefined;
      const reg = /^NXM_NX_(REG\d+)\[0\.\.15\]$/i.exec(zone)?.[1];
      return reg === undefined ? zone : reg.toLowerCase();
    }
  return undefined;
}

const unknown = (reply: TracedDirection, why: string): TracedDirection => {
  const reason = `the reply of a hairpinned connection: ${why}`;
  return { ...reply, report: { ...reply.report, verdict: { kind: "unknown", reason } } };
};

/**
 * The hairpin reply `d` (traced as `reply`: ovn-trace and ofproto/trace from the pod's port, without the learned
 * flow's effect), continued from the forward direction's traces as the real packet goes (see above).
 */
export async function hairpinReply(
  run: RunContext,
  r: Resolution,
  d: DirectionPlan,
  forward: TracedDirection,
  reply: TracedDirection,
  hairpin: { readonly node: string; readonly snatIp: string },
): Promise<TracedDirection> {
  const node = hairpin.node;
  // 1. the flow the first packet learns
  const learn = forwardLearn(forward.hops, node);
  if (learn === undefined)
    return unknown(
      reply,
      `the forward trace on ${node} shows no hairpin check that learns the reply's flow (chk_lb_hairpin's learn action), so nothing says how OVN recognises the reply`,
    );
  const flow = learnedFlow(learn.found.text, valuesAt(learn.pass, learn.step));
  if ("error" in flow) return unknown(reply, `on ${node}, ${flow.error}`);
  // 2. the reply meets it
  const lookup = [...stepsOn(reply.hops, node)].find((s) => s.step.table === flow.table);
  if (lookup === undefined)
    return unknown(
      reply,
      `its trace on ${node} does not reach table ${String(flow.table)}, where OVN looks for the flow the first packet learns (chk_lb_hairpin_reply)`,
    );
  const at = valuesAt(lookup.pass, lookup.step.match === null ? undefined : lookup.step);
  const differ = mismatches(flow, at);
  if (differ.length > 0)
    return unknown(
      reply,
      `on ${node} it does not match the flow the first packet learns (${flow.text}): ${differ.join(", ")}`,
    );
  // 3. the hairpin SNAT undone, in its own zone
  const events = natEvents(forward.hops);
  const snat = events.find(
    (e) => e.direction === "src" && e.node === node && canonicalIp(e.to.ip) === canonicalIp(hairpin.snatIp),
  );
  const zoneOf = snatZone(forward.hops, node, hairpin.snatIp);
  if (snat === undefined || zoneOf === undefined)
    return unknown(
      reply,
      `the forward trace on ${node} shows no SNAT to ${hairpin.snatIp} for conntrack to undo`,
    );
  const replyZone = /^\d+$/.test(zoneOf) ? Number(zoneOf) : Number(at[zoneOf] ?? "0");
  if (replyZone !== snat.zone)
    return unknown(
      reply,
      `on ${node} its SNAT zone (${zoneOf}=${String(replyZone)}) is not the zone of the forward's SNAT to ${hairpin.snatIp} (${String(snat.zone)})`,
    );
  const sent = { ip: d.dstIp, port: d.dstPort };
  if (
    canonicalIp(sent.ip) !== canonicalIp(snat.to.ip) ||
    (snat.to.port !== undefined && sent.port !== snat.to.port)
  )
    return unknown(
      reply,
      `it is sent to ${hostPort(sent.ip, sent.port)}, not to the address the forward's SNAT chose (${hostPort(snat.to.ip, snat.to.port)})`,
    );
  // 4. the egress, traced again from a geneve arrival for the same port, with the loopback flag
  const view = await nodeView(run.b, run.views, node).catch(() => undefined);
  const local = [...(view?.encapNodes.entries() ?? [])].find(([, n]) => n === node)?.[0];
  const tunnel = view?.interfaces.find((i) => i.type === "geneve" && i.remoteIp !== undefined);
  const vni = Number(at.metadata ?? "NaN");
  const port = Number(at.reg14 ?? "NaN");
  if (view === undefined || local === undefined || tunnel?.remoteIp === undefined)
    return unknown(
      reply,
      `${node} has no geneve tunnel to trace its egress from (OVN sends it back out of ${d.from.lsp}, which ofproto/trace cannot start in the middle of a pipeline)`,
    );
  if (!Number.isInteger(vni) || !Number.isInteger(port))
    return unknown(
      reply,
      `its trace on ${node} does not show its datapath and port at table ${String(flow.table)}`,
    );
  const loaded = flow.load?.register === "reg10" ? 2 ** flow.load.bit : 0;
  const reg10 = (Number(at.reg10 ?? "0") | loaded | 0x1) >>> 0;
  const packet: OpenFlowPacket = {
    family: r.family,
    protocol: r.protocol,
    // ls_in_hairpin: eth.dst <-> eth.src; outport = inport; flags.loopback = 1
    ethSrc: at.dl_dst ?? d.dstMac,
    ethDst: at.dl_src ?? d.from.mac,
    src: at.nw_src ?? at.ipv6_src ?? d.from.ip,
    dst: snat.from.ip,
    ttl: Number(at.nw_ttl ?? "64"),
    ...(r.protocol === "icmp"
      ? {}
      : { srcPort: Number(at.tp_src ?? d.srcPort), dstPort: snat.from.port ?? d.dstPort }),
  };
  const option = `0x${((port << 16) | port).toString(16)}`;
  const extra = [...tunnelFields(vni, tunnel.remoteIp, local, option), `reg10=0x${reg10.toString(16)}`];
  const egress = await runOfprotoTrace(
    run.b,
    node,
    "br-int",
    flowSpec(tunnel.name, packet, extra),
    "trk,est,rpl",
  );
  if (egress.doc === undefined)
    return unknown(
      reply,
      `its egress on ${node} could not be traced: ${egress.hop.outcome.kind === "error" ? egress.hop.outcome.message : "no trace"}`,
    );
  const c = crossingOf(egress.doc, view, packet);
  if (c.kind !== "end")
    return unknown(
      reply,
      `its egress on ${node} ${c.kind === "error" ? `could not be followed: ${c.message}` : `goes into a tunnel to ${c.toNode}`}`,
    );
  const end = c.end;
  const learned = lookup.step.match !== null;
  const undone = `conntrack un-SNAT ${hostPort(snat.to.ip, snat.to.port)} -> ${hostPort(snat.from.ip, snat.from.port)}`;
  const first: TracedHop = {
    ...lookup.hop,
    hop: {
      ...lookup.hop.hop,
      outcome: {
        kind: "output",
        port: `hairpin reply (table ${String(flow.table)}: the flow the first packet learns), ${undone}`,
        portType: `traced again into the egress of ${d.from.lsp} (outport = inport, loopback)${
          learned ? "" : `; from table ${String(flow.table)} on, this trace is without that flow`
        }`,
      },
    },
  };
  const last: TracedHop = {
    hop: {
      ...egress.hop,
      outcome:
        end.kind === "delivered"
          ? { kind: "output", port: end.ifaceId ?? end.iface, portType: `ovs port ${end.iface}` }
          : end.kind === "dropped"
            ? {
                kind: "dropped",
                where: end.where,
                reason: end.reason,
                ...(end.cookie === undefined ? {} : { cookie: end.cookie }),
              }
            : end.kind === "error"
              ? { kind: "error", message: end.message }
              : {
                  kind: "output",
                  port: end.kind === "left-cluster" ? end.iface : "controller",
                  portType: end.kind,
                },
    },
    ofproto: egress.doc,
  };
  const logical = reply.hops.filter((h) => h.hop.tool === "ovn-trace");
  const lastLogical = logical.at(-1)?.hop;
  const hops = [...logical, first, last];
  const verdict = await arrival(
    run,
    verdictOf(end, lastLogical, knownPods(r)),
    end.kind === "dropped" ? end.cookie : undefined,
    d,
    last,
    events,
  );
  const report = {
    ...reply.report,
    checks: hairpinChecks(checksOf(d.expect, lastLogical, last.hop, end)),
    hops: hops.map((h) => h.hop),
    verdict,
  };
  return { ...reply, report, hops };
}

/** The verdict with the addresses the pod really sees (the load balancer's DNAT undone), or a drop explained. */
async function arrival(
  run: RunContext,
  v: Verdict,
  cookie: string | undefined,
  d: DirectionPlan,
  egress: TracedHop,
  events: readonly NatEvent[],
): Promise<Verdict> {
  if (v.kind === "dropped") return explained(run, v, cookie, d);
  if (v.kind !== "delivered" || v.srcIp === undefined || v.dstIp === undefined) return v;
  return { ...v, ...undoNat({ ...v, srcIp: v.srcIp, dstIp: v.dstIp }, [egress], events) };
}

/** ovn-trace cannot follow a hairpin's reply: its check says why it ended elsewhere. */
function hairpinChecks(checks: readonly Check[]): Check[] {
  return checks.map((c) =>
    c.tool === "ovn-trace" && !c.success
      ? {
          ...c,
          detail: `ovn-trace does not implement chk_lb_hairpin_reply (it answers 0), so it does not follow a hairpin's reply: ${c.detail}`,
        }
      : c,
  );
}
