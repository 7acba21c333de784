import { hostPort } from "../net/ip.js";
import type { OvnTraceDocument } from "../model/ovn-trace.js";
import type { HopOutcome, Step } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";
import { ovnTraceStages, parseOvnTrace } from "../parsers/ovn-trace.js";
import type { ExecResult, OvnTraceCall } from "../cluster/backend.js";
import { ParseError } from "../errors.js";

/**
 * The logical half of a trace: `ovn-trace` in the source node's zone and, on an interconnect
 * cluster when the packet leaves through the transit switch, again in the destination zone
 * (from tstor-<source node>, one routing hop later, with the address after any DNAT).
 */

export interface LogicalEndpoint {
  readonly node: string;
  /**
   * Logical port the packet enters on: <ns>_<pod>, k8s-<node> for a host-network pod, the gateway's localnet port
   * for a packet from outside.
   */
  readonly lsp: string;
  /** The datapath to start in: the node's switch (the default), or null to let ovn-trace take the inport's. */
  readonly datapath?: string | null;
  readonly mac: string;
  readonly ip: string;
}

export interface LogicalTraceRequest {
  readonly src: LogicalEndpoint;
  readonly dstIp: string;
  /** MAC the source sends to: the peer's if on-link, else its gateway (rtos-<node>). */
  readonly dstMac: string;
  readonly protocol: "tcp" | "udp" | "icmp";
  readonly srcPort: number;
  readonly dstPort: number;
  /** ovn-trace --ct flags for each ct_next (e.g. "new" for a first packet, "est,rpl" for a reply). */
  readonly ct: string;
  /** Service backend "ip:port" to force at ct_lb (--lb-dst), and the address the packet then has. */
  readonly lbDst?: { readonly ip: string; readonly port: number };
}

/** What the cluster must provide: running a command in a node's OVN context, and transit MACs. */
export interface LogicalTraceContext {
  readonly exec: (node: string, argv: readonly string[]) => Promise<ExecResult>;
  /** ovn-trace served without a process per trace (ClusterBackend.ovnTrace), when the backend has it. */
  readonly ovnTrace?: (node: string, call: OvnTraceCall) => Promise<ExecResult>;
  readonly interconnect: boolean;
  /** rtots-<node> MAC, for the hop into another zone. */
  readonly transitMac: (node: string) => string | undefined;
}

function microflow(
  r: LogicalTraceRequest,
  inport: string,
  ethSrc: string,
  ethDst: string,
  dstIp: string,
  dstPort: number,
  ttl: number,
): string {
  const v = r.src.ip.includes(":") ? "ip6" : "ip4";
  const l4 =
    r.protocol === "icmp"
      ? v === "ip4"
        ? "icmp4 && icmp4.type == 8"
        : "icmp6 && icmp6.type == 128"
      : `${r.protocol} && ${r.protocol}.src == ${r.srcPort} && ${r.protocol}.dst == ${dstPort}`;
  return [
    `inport == "${inport}"`,
    `eth.src == ${ethSrc}`,
    `eth.dst == ${ethDst}`,
    `${v}.src == ${r.src.ip}`,
    `${v}.dst == ${dstIp}`,
    `ip.ttl == ${ttl}`,
    l4,
  ].join(" && ");
}

function outcomeAndSteps(doc: OvnTraceDocument): { outcome: HopOutcome; steps: Step[] } {
  const steps = ovnTraceStages(doc).map((s): Step => ({
    kind: "logical-stage",
    datapath: s.datapath ?? "",
    pipeline: s.pipeline === "egress" ? "egress" : "ingress",
    table: s.table,
    stage: s.stageName ?? "",
    ...(s.priority === undefined ? {} : { priority: s.priority }),
    ...(s.match === undefined ? {} : { match: s.match }),
    actions: s.steps.flatMap((x) => (x.kind === "action" ? [x.text] : [])),
    ...(s.uuid === undefined ? {} : { uuid: s.uuid }),
    source: { line: s.source.line, text: s.source.text },
  }));
  const v = doc.verdict;
  const outcome: HopOutcome =
    v.kind === "output"
      ? { kind: "output", port: v.port, ...(v.portType === undefined ? {} : { portType: v.portType }) }
      : v.kind === "dropped"
        ? {
            kind: "dropped",
            where: [v.datapath, v.stage, v.priority === undefined ? undefined : `priority ${v.priority}`]
              .filter(Boolean)
              .join(" "),
            reason: v.message,
            ...(v.source === undefined ? {} : { source: { line: v.source.line, text: v.source.text } }),
          }
        : { kind: "error", message: v.message };
  return { outcome, steps };
}

async function hop(
  ctx: LogicalTraceContext,
  node: string,
  datapath: string | undefined,
  flow: string,
  r: LogicalTraceRequest,
): Promise<TracedHop> {
  const ct = Array.from({ length: 4 }, () => `--ct=${r.ct}`);
  const lb = r.lbDst === undefined ? [] : [`--lb-dst=${hostPort(r.lbDst.ip, r.lbDst.port)}`];
  const argv = ["ovn-trace", "--detailed", ...ct, ...lb, ...(datapath === undefined ? [] : [datapath]), flow];
  // the daemon needs the datapath; the report shows the one-shot command, which prints the same
  const res =
    ctx.ovnTrace === undefined || datapath === undefined
      ? await ctx.exec(node, argv)
      : await ctx.ovnTrace(node, {
          ct: r.ct,
          ...(r.lbDst === undefined ? {} : { lbDst: hostPort(r.lbDst.ip, r.lbDst.port) }),
          datapath,
          microflow: flow,
          oneShot: argv,
        });
  const base = {
    tool: "ovn-trace" as const,
    node,
    startsIn: datapath ?? "",
    command: argv,
    output: res.stdout,
    durationMs: res.durationMs,
  };
  if (res.exitCode !== 0 || res.timedOut) {
    const message = res.timedOut
      ? `timed out after ${res.durationMs} ms`
      : res.stderr.trim() || `exit ${res.exitCode}`;
    return { hop: { ...base, steps: [], outcome: { kind: "error", message } } };
  }
  try {
    const doc = parseOvnTrace(res.stdout);
    const found = outcomeAndSteps(doc);
    // without a datapath argument ovn-trace starts in the inport's: the first stage names it
    const first = found.steps[0];
    const startsIn = datapath ?? (first?.kind === "logical-stage" ? first.datapath : "");
    return { hop: { ...base, startsIn, ...found }, ovnTrace: doc };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return {
      hop: {
        ...base,
        steps: [],
        outcome: { kind: "error", message: `cannot read the ovn-trace output: ${e.message}` },
      },
    };
  }
}

/** The last Ethernet destination a stage of the trace wrote (`eth.dst = <mac>;`), if any. */
function ethDstSet(steps: readonly Step[]): string | undefined {
  for (const step of [...steps].reverse()) {
    if (step.kind !== "logical-stage") continue;
    for (const action of [...step.actions].reverse()) {
      const mac = /^eth\.dst = ([0-9a-f]{2}(?::[0-9a-f]{2}){5});?$/i.exec(action.trim())?.[1];
      if (mac !== undefined) return mac;
    }
  }
  return undefined;
}

/**
 * A transit switch port `tstor-<node>`, or a user-defined network's `<network prefix>tstor-<node>` (whose switch is
 * `<network prefix>transit_switch`).
 */
function transitPort(port: string): { prefix: string; node: string } | undefined {
  const m = /^((?:[^_]+_)*?)tstor-(.+)$/.exec(port);
  return m === null ? undefined : { prefix: m[1] ?? "", node: m[2] ?? "" };
}

/** Runs ovn-trace for one packet, following the transit switch into the destination zone. */
export async function traceLogical(ctx: LogicalTraceContext, r: LogicalTraceRequest): Promise<TracedHop[]> {
  const first = await hop(
    ctx,
    r.src.node,
    r.src.datapath === undefined ? r.src.node : (r.src.datapath ?? undefined),
    microflow(r, r.src.lsp, r.src.mac, r.dstMac, r.dstIp, r.dstPort, 64),
    r,
  );
  const hops = [first];
  const o = first.hop.outcome;
  const transit = o.kind === "output" && o.portType === "remote" ? transitPort(o.port) : undefined;
  if (ctx.interconnect && transit !== undefined) {
    const dstNode = transit.node;
    const srcMac = ctx.transitMac(r.src.node) ?? r.src.mac;
    // a node the request did not resolve (an EgressIP's egress node): the MAC the cluster router gave the packet
    const dstMac = ctx.transitMac(dstNode) ?? ethDstSet(first.hop.steps) ?? r.dstMac;
    // the load balancer already ran in the source zone: the packet now carries the backend's address
    const dstIp = r.lbDst?.ip ?? r.dstIp;
    const dstPort = r.lbDst?.port ?? r.dstPort;
    const rest = { ...r, lbDst: undefined };
    hops.push(
      await hop(
        ctx,
        dstNode,
        `${transit.prefix}transit_switch`,
        microflow(rest, `${transit.prefix}tstor-${r.src.node}`, srcMac, dstMac, dstIp, dstPort, 63),
        rest,
      ),
    );
  }
  return hops;
}

/** The packet as a router goes on with it after conntrack undid a forward SNAT (see openflow-trace.ts). */
export interface LogicalResume {
  readonly node: string;
  /** The router port it entered that router on. */
  readonly inport: string;
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly ttl: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

/**
 * ovn-trace from where conntrack gave a reply its original destination back: ovn-trace cannot undo a NAT
 * (it says `ct_snat` "assuming no un-snat entry, so no change"), so the router that undoes it is traced again from the port the
 * packet entered it on, with the restored destination.
 */
export async function traceLogicalFrom(
  ctx: LogicalTraceContext,
  r: LogicalTraceRequest,
  at: LogicalResume,
): Promise<TracedHop> {
  const rest: LogicalTraceRequest = {
    ...r,
    src: { node: at.node, lsp: at.inport, mac: at.ethSrc, ip: at.srcIp },
    srcPort: at.srcPort,
    lbDst: undefined,
  };
  return hop(
    ctx,
    at.node,
    undefined,
    microflow(rest, at.inport, at.ethSrc, at.ethDst, at.dstIp, at.dstPort, at.ttl),
    rest,
  );
}
