import { describeFailure, type ClusterBackend } from "../cluster/backend.js";
import { mgmtLinkName } from "../cluster/mgmt-link.js";
import type { Hop, HostHandoff, HostRoute, Step, Verdict } from "../model/report.js";
import type { Resolution } from "../model/target.js";
import { parseIp } from "../net/ip.js";

/**
 * A packet OVN hands to a node's host network stack at the management port (ovn-k8s-mp0): the cluster router's rule
 * that sent it there (in local gateway mode, the source route of the node's subnet to its management port address),
 * and what the node's routes do with it, from `ip route get` on the node. The trace reads routes only: the host's
 * iptables and nftables (the masquerade of pod egress, NodePort DNAT) are stated as not read, never guessed.
 */

/** The default network's management port on the host. */
export const MANAGEMENT_LINK = mgmtLinkName(0);

const NOT_READ =
  "iptables and nftables are not read: what the host's firewall and NAT do with it (the masquerade of pod traffic leaving the node in local gateway mode, a NodePort's DNAT) is unknown";

type LogicalStage = Extract<Step, { kind: "logical-stage" }>;

/** The next hop a router's flow sets (reg0 for IPv4, xxreg0 for IPv6), from its actions. */
function nextHopOf(s: LogicalStage): string | undefined {
  for (const a of s.actions) {
    const m = /^x?x?reg0 = ([0-9a-fA-F:.]+);$/.exec(a.trim());
    if (m?.[1] !== undefined && parseIp(m[1]) !== undefined) return m[1];
  }
  return undefined;
}

/**
 * The router rule that chose the management port: a reroute policy if the router's last policy stage rerouted,
 * else the route its routing stage matched. Read backwards: the policy stage comes after the routing stage.
 */
export function handoffRule(hop: Hop | undefined): string | undefined {
  const stages = (hop?.steps ?? []).filter((s): s is LogicalStage => s.kind === "logical-stage");
  for (const s of [...stages].reverse()) {
    const via = nextHopOf(s);
    if (s.stage === "lr_in_policy" && (s.priority ?? 0) > 0 && via !== undefined)
      return `${s.datapath} policy ${String(s.priority)} [${s.match ?? ""}] reroute ${via}`;
    if (s.stage === "lr_in_ip_routing" && via !== undefined) {
      const src = /^ip[46]\.src == (\S+)$/.exec(s.match ?? "")?.[1];
      return src === undefined
        ? `${s.datapath} route [${s.match ?? ""}] via ${via}`
        : `${s.datapath} static route ${src} (policy src-ip) via ${via}`;
    }
  }
  return undefined;
}

/** The first route of `ip -j route get`'s answer; undefined when it is not that. */
export function parseRouteGet(command: string, stdout: string): HostRoute | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const r: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (typeof r !== "object" || r === null) return undefined;
  const field = (k: string): string | undefined => {
    const v = (r as Record<string, unknown>)[k];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  const type = field("type");
  const dev = field("dev");
  const gateway = field("gateway");
  const prefsrc = field("prefsrc");
  if (type === undefined && dev === undefined) return undefined;
  return {
    command,
    ...(type === undefined || type === "unicast" ? {} : { type }),
    ...(dev === undefined ? {} : { dev }),
    ...(gateway === undefined ? {} : { gateway }),
    ...(prefsrc === undefined ? {} : { prefsrc }),
  };
}

/** What the node's kernel routes a packet arriving at the management port to (read, never changed). */
async function hostRoute(
  b: ClusterBackend,
  node: string,
  src: string,
  dst: string,
): Promise<HostHandoff["route"]> {
  const argv = ["ip", "-j", "route", "get", dst, "from", src, "iif", MANAGEMENT_LINK];
  const command = argv.join(" ");
  try {
    const r = await b.execOnNode(node, argv, { timeoutMs: 30_000 });
    if (r.exitCode !== 0) return { unknown: `the node's routes could not be read: ${describeFailure(r)}` };
    return parseRouteGet(command, r.stdout) ?? { unknown: `\`${command}\` answered what is not a route` };
  } catch (e) {
    return { unknown: `the node's routes could not be read: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** A verdict delivered at the management port gets the handoff: the rule that sent it, and the host's route. */
export async function withHostHandoff(
  b: ClusterBackend,
  r: Resolution,
  v: Verdict,
  lastLogical: Hop | undefined,
): Promise<Verdict> {
  if (v.kind !== "delivered" || v.port !== MANAGEMENT_LINK) return v;
  const node = r.nodes.get(v.node);
  const nodeIp = node?.gateway?.ips.find((ip) => parseIp(ip)?.family === r.family);
  const to = v.to.kind === "node" && v.to.ip === "" && nodeIp !== undefined ? { ...v.to, ip: nodeIp } : v.to;
  const rule = handoffRule(lastLogical);
  const route =
    v.srcIp === undefined || v.dstIp === undefined
      ? { unknown: "the packet's addresses on arrival are unknown" }
      : await hostRoute(b, v.node, v.srcIp, v.dstIp);
  const host: HostHandoff = {
    node: v.node,
    iface: MANAGEMENT_LINK,
    gatewayMode: node?.gatewayMode ?? "shared",
    ...(rule === undefined ? {} : { rule }),
    route,
    notRead: NOT_READ,
  };
  return { ...v, to, host };
}
