import type { LabCluster, LabPod } from "../../src/lab/cluster.js";
import type { LabelSelector, NetworkPolicySpec, PolicyPeer, PolicyPort } from "../../src/lab/scenario.js";
import { contains, parseCidr, parseIp } from "../../src/net/ip.js";

/**
 * Kubernetes NetworkPolicy semantics, straight from a lab's scenario (what the user declared), with no OVN in
 * it: whether a pod may open a connection to another on a port, and if not, whose policies deny it. The
 * reachability matrix's tests hold every cell against it. Egress is decided first (the sender's switch sees the
 * packet before the receiver's), as OVN does.
 */

export interface OracleVerdict {
  readonly allowed: boolean;
  /** When denied: whose isolation denies it. */
  readonly direction?: "ingress" | "egress";
  /** When denied: the policies that isolate that pod in that direction ("ns/name", sorted). */
  readonly policies: readonly string[];
}

const matches = (labels: Readonly<Record<string, string>>, s: LabelSelector | undefined): boolean =>
  Object.entries(s?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

function typesOf(np: NetworkPolicySpec): ("Ingress" | "Egress")[] {
  if (np.policyTypes !== undefined) return [...np.policyTypes];
  return np.egress !== undefined && np.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

const nsLabels = (c: LabCluster, ns: string): Readonly<Record<string, string>> => ({
  "kubernetes.io/metadata.name": ns,
  ...(c.namespaces.find((n) => n.name === ns)?.labels ?? {}),
});

function ipv4(p: LabPod): string {
  return p.ips[4] ?? "";
}

function peerMatches(c: LabCluster, np: NetworkPolicySpec, peer: PolicyPeer, other: LabPod): boolean {
  if (peer.ipBlock !== undefined) {
    const ip = parseIp(ipv4(other));
    const cidr = parseCidr(peer.ipBlock.cidr);
    if (ip === undefined || cidr === undefined || !contains(cidr, ip)) return false;
    return !(peer.ipBlock.except ?? []).some((e) => {
      const x = parseCidr(e);
      return x !== undefined && contains(x, ip);
    });
  }
  const inNamespace =
    peer.namespaceSelector === undefined
      ? other.namespace === np.namespace
      : matches(nsLabels(c, other.namespace), peer.namespaceSelector);
  return inNamespace && matches(other.labels, peer.podSelector);
}

function portMatches(ports: readonly PolicyPort[] | undefined, protocol: string, port: number): boolean {
  if (ports === undefined || ports.length === 0) return true;
  if (protocol === "icmp") return false;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP").toLowerCase() !== protocol) return false;
    if (p.port === undefined) return true;
    return p.endPort === undefined ? p.port === port : p.port <= port && port <= p.endPort;
  });
}

/** One direction: the policies isolating `pod`, and whether one of their rules admits `other` on the port. */
function side(
  c: LabCluster,
  dir: "Ingress" | "Egress",
  pod: LabPod,
  other: LabPod,
  protocol: string,
  port: number,
): { isolating: string[]; allowed: boolean } {
  const isolating = c.networkPolicies.filter(
    (np) =>
      np.namespace === pod.namespace && typesOf(np).includes(dir) && matches(pod.labels, np.podSelector),
  );
  const allowed =
    isolating.length === 0 ||
    isolating.some((np) =>
      (dir === "Ingress" ? (np.ingress ?? []) : (np.egress ?? [])).some((rule) => {
        const peers = "from" in rule ? rule.from : "to" in rule ? rule.to : undefined;
        const peerOk =
          peers === undefined || peers.length === 0 || peers.some((p) => peerMatches(c, np, p, other));
        return peerOk && portMatches(rule.ports, protocol, port);
      }),
    );
  return { isolating: isolating.map((np) => `${np.namespace}/${np.name}`).sort(), allowed };
}

/** Whether `src` may open a connection to `dst` on protocol/port (the port the destination pod receives on). */
export function oracle(
  c: LabCluster,
  src: LabPod,
  dst: LabPod,
  protocol: string,
  port: number,
): OracleVerdict {
  const egress = side(c, "Egress", src, dst, protocol, port);
  if (!egress.allowed) return { allowed: false, direction: "egress", policies: egress.isolating };
  const ingress = side(c, "Ingress", dst, src, protocol, port);
  if (!ingress.allowed) return { allowed: false, direction: "ingress", policies: ingress.isolating };
  return { allowed: true, policies: [] };
}
