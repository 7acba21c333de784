import type { ArrivalAddresses, HostHandoff, KubeObjectRef, Verdict } from "../model/report.js";
import { hostPort } from "../net/ip.js";

/** `Kind ns/name` (or `Kind name` for cluster-scoped objects). */
export const objectRef = (o: KubeObjectRef): string =>
  `${o.kind} ${o.namespace === undefined ? "" : `${o.namespace}/`}${o.name}`;

/**
 * The verdict in one sentence, in Kubernetes terms where the databases said (the NetworkPolicy, the Service,
 * the SNAT owner), with the objects it names. Every place that states a verdict (the summaries, the Go-style
 * lines, the demo) says it with these words.
 */
export function verdictSentence(v: Verdict): { text: string; objects: readonly KubeObjectRef[] } {
  switch (v.kind) {
    case "delivered": {
      const to =
        v.to.kind === "pod"
          ? `pod ${v.to.namespace}/${v.to.name}`
          : v.to.kind === "node"
            ? `the host of node ${v.to.name}`
            : v.port;
      const via = v.service === undefined ? "" : ` (backend of ${objectRef(v.service)})`;
      const hairpin =
        v.hairpin === undefined
          ? ""
          : `, hairpin: sent back to the sender with source ${v.hairpin.snatIp}${v.hairpin.loadBalancer === undefined ? "" : ` (hairpin_snat_ip of ${v.hairpin.loadBalancer})`}`;
      const objects: KubeObjectRef[] = [
        ...(v.to.kind === "pod" ? [{ kind: "Pod", namespace: v.to.namespace, name: v.to.name }] : []),
        ...(v.to.kind === "node" ? [{ kind: "Node", name: v.to.name }] : []),
        ...(v.service === undefined ? [] : [v.service]),
      ];
      if (v.host !== undefined && v.to.kind === "node")
        return { text: `${hostHandoffText(v.host)}${via}${hairpin}`, objects };
      const host = v.host === undefined ? "" : `; ${hostNextText(v.host)}`;
      return { text: `delivered to ${to}${via} on ${v.node} (port ${v.port})${hairpin}${host}`, objects };
    }
    case "dropped":
      return {
        text: `dropped on ${v.node} at ${v.where}: ${v.explanation ?? v.reason}`,
        objects: v.objects ?? [],
      };
    case "left-cluster": {
      const gateway = v.gateway === undefined ? "" : ` (${v.gateway})`;
      const nat =
        v.snatIp === undefined
          ? ""
          : `, source NAT to ${v.snatIp}${v.snat === undefined ? "" : ` (${v.snat})`}`;
      const allowed = v.allowedBy === undefined ? "" : `, allowed by ${v.allowedBy}`;
      const rerouted = v.reroutedBy === undefined ? "" : `; ${v.reroutedBy}`;
      return {
        text: `left the cluster on ${v.node} through ${v.via}${gateway}${nat}${allowed}${rerouted}`,
        objects: v.objects ?? [],
      };
    }
    case "rejected":
      return { text: `rejected on ${v.node}: ${v.explanation ?? v.reason}`, objects: v.objects ?? [] };
    case "unknown":
      return { text: `unknown: ${v.reason}`, objects: [] };
  }
}

/** A packet OVN handed to a node's host network stack: where, by which rule, and what the host does next. */
function hostHandoffText(h: HostHandoff): string {
  const rule = h.rule === undefined ? "" : ` by ${h.rule}`;
  return `handed to the host network stack of node ${h.node} at ${h.iface} (${h.gatewayMode} gateway mode)${rule}; ${hostNextText(h)}`;
}

/** The node's route for it as read (or why it is unknown), and what the trace does not read. */
function hostNextText(h: HostHandoff): string {
  const r = h.route;
  if ("unknown" in r) return `the host's routing of it is unknown (${r.unknown}); ${h.notRead}`;
  const how =
    r.type === "local"
      ? "the destination is an address of the host itself"
      : r.type !== undefined
        ? `the route is of type ${r.type}${r.dev === undefined ? "" : ` (dev ${r.dev})`}`
        : `routed ${r.gateway === undefined ? "directly" : `via ${r.gateway}`} out of ${r.dev ?? "?"}${r.prefsrc === undefined ? "" : ` (preferred source ${r.prefsrc})`}`;
  return `the node's routes (\`${r.command}\`): ${how}; ${h.notRead}`;
}

/** `10.96.0.10:53 → 10.244.1.3:52888` (no ports for ICMP; IPv6 in brackets with a port). */
export function arrivalText(a: ArrivalAddresses): string {
  return `${hostPort(a.srcIp ?? "?", a.srcPort)} → ${hostPort(a.dstIp ?? "?", a.dstPort)}`;
}
