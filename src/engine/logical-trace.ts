import type { ExecResult } from "../ovs/exec.js";

/**
 * The logical half of a trace: `ovn-trace` in the source node's zone and, on an interconnect
 * cluster when the packet leaves through the transit switch, again in the destination zone.
 * A first step towards the full engine; it is what `demo` shows.
 */

export interface LogicalEndpoint {
  readonly node: string;
  readonly lsp: string;
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
}

/** What the cluster must provide: running a command in a node's OVN context, and transit MACs. */
export interface LogicalTraceContext {
  readonly exec: (node: string, argv: readonly string[]) => Promise<ExecResult>;
  readonly interconnect: boolean;
  /** rtots-<node> MAC, for the hop into another zone. */
  readonly transitMac: (node: string) => string;
}

export type LogicalVerdict =
  | { readonly kind: "output"; readonly port: string; readonly portType: string }
  | { readonly kind: "dropped"; readonly stage: string; readonly line: string }
  | { readonly kind: "error"; readonly message: string };

export interface LogicalHop {
  readonly node: string;
  readonly argv: readonly string[];
  readonly output: string;
  readonly verdict: LogicalVerdict;
}

function microflow(
  r: LogicalTraceRequest,
  inport: string,
  ethSrc: string,
  ethDst: string,
  ttl: number,
): string {
  const v = r.src.ip.includes(":") ? "ip6" : "ip4";
  const l4 =
    r.protocol === "icmp"
      ? v === "ip4"
        ? "icmp4 && icmp4.type == 8"
        : "icmp6 && icmp6.type == 128"
      : `${r.protocol} && ${r.protocol}.src == ${r.srcPort} && ${r.protocol}.dst == ${r.dstPort}`;
  return [
    `inport == "${inport}"`,
    `eth.src == ${ethSrc}`,
    `eth.dst == ${ethDst}`,
    `${v}.src == ${r.src.ip}`,
    `${v}.dst == ${r.dstIp}`,
    `ip.ttl == ${ttl}`,
    l4,
  ].join(" && ");
}

/**
 * The verdict of one ovn-trace --detailed output: whichever comes last, its last `output to` or a
 * drop (a patch-port output into the next datapath can be followed by a drop there).
 */
export function logicalVerdict(out: string): LogicalVerdict {
  let stage = "";
  let stageLine = "";
  let verdict: LogicalVerdict | undefined;
  for (const line of out.split("\n")) {
    const m = /^\s*\d+\.\s+(\S+?)\s*\(/.exec(line);
    if (m) {
      stage = m[1] ?? "";
      stageLine = line.trim();
    }
    const o = /output to "([^"]+)", type "([^"]*)"/.exec(line);
    if (o) verdict = { kind: "output", port: o[1] ?? "", portType: o[2] ?? "" };
    else if (/^\s*(drop;|\*\*\* )/.test(line)) verdict = { kind: "dropped", stage, line: stageLine };
  }
  if (verdict !== undefined) return verdict;
  const err = out.split("\n").find((l) => /unknown (datapath|port)|syntax error|ovn-trace:/.test(l));
  return err === undefined
    ? { kind: "dropped", stage, line: stageLine }
    : { kind: "error", message: err.trim() };
}

async function hop(
  ctx: LogicalTraceContext,
  node: string,
  datapath: string,
  flow: string,
): Promise<LogicalHop> {
  const argv = ["ovn-trace", "--detailed", "--ct=new", "--ct=new", "--ct=new", datapath, flow];
  const r = await ctx.exec(node, argv);
  const verdict: LogicalVerdict =
    r.exitCode !== 0 || r.timedOut
      ? { kind: "error", message: (r.stderr || r.stdout).trim() || `exit ${r.exitCode}` }
      : logicalVerdict(r.stdout);
  return { node, argv, output: r.stdout, verdict };
}

/** Runs ovn-trace for the first packet of a connection, following the transit switch into the destination zone. */
export async function traceLogical(ctx: LogicalTraceContext, r: LogicalTraceRequest): Promise<LogicalHop[]> {
  const first = await hop(ctx, r.src.node, r.src.node, microflow(r, r.src.lsp, r.src.mac, r.dstMac, 64));
  const hops = [first];
  const v = first.verdict;
  if (ctx.interconnect && v.kind === "output" && v.portType === "remote" && v.port.startsWith("tstor-")) {
    const dstNode = v.port.slice("tstor-".length);
    const flow = microflow(r, `tstor-${r.src.node}`, ctx.transitMac(r.src.node), ctx.transitMac(dstNode), 63);
    hops.push(await hop(ctx, dstNode, "transit_switch", flow));
  }
  return hops;
}
