import type { ArrivalAddresses, KubeObjectRef, Verdict } from "../model/report.js";
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
        ...(v.service === undefined ? [] : [v.service]),
      ];
      return { text: `delivered to ${to}${via} on ${v.node} (port ${v.port})${hairpin}`, objects };
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
      return {
        text: `left the cluster on ${v.node} through ${v.via}${gateway}${nat}`,
        objects: v.objects ?? [],
      };
    }
    case "rejected":
      return { text: `rejected on ${v.node}: ${v.explanation ?? v.reason}`, objects: v.objects ?? [] };
    case "unknown":
      return { text: `unknown: ${v.reason}`, objects: [] };
  }
}

/** `10.96.0.10:53 → 10.244.1.3:52888` (no ports for ICMP; IPv6 in brackets with a port). */
export function arrivalText(a: ArrivalAddresses): string {
  return `${hostPort(a.srcIp ?? "?", a.srcPort)} → ${hostPort(a.dstIp ?? "?", a.dstPort)}`;
}
