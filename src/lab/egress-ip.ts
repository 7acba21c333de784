import { contains, formatIp, parseCidr, parseIp } from "../net/ip.js";
import type { LabNode, LabPod } from "./cluster.js";
import type { EgressIPSpec, LabelSelector, NamespaceSpec, NodeSpec } from "./scenario.js";

/**
 * EgressIPs as cluster-manager and ovnkube-controller see them: each egress IP assigned to a node labelled
 * `k8s.ovn.org/egress-assignable` (its status), and the pods it serves. What the lab writes for them into OVN is
 * egress-ip-northbound.ts.
 */

export const EGRESS_ASSIGNABLE_LABEL = "k8s.ovn.org/egress-assignable";

export interface EgressIPStatusItem {
  readonly node: string;
  readonly egressIP: string;
}

export interface LabEgressIP {
  readonly name: string;
  readonly egressIPs: readonly string[];
  readonly namespaceSelector: LabelSelector;
  readonly podSelector: LabelSelector;
  /** One item per egress IP: the node it is assigned to. */
  readonly status: readonly EgressIPStatusItem[];
  /** The pods it serves (not hostNetwork, in a selected namespace, matching the pod selector), in scenario order. */
  readonly pods: readonly LabPod[];
}

/** A problem of the scenario: the field it is about and what is wrong. */
export type EgressIPProblem = readonly [field: string, message: string];

const matches = (labels: Readonly<Record<string, string>>, sel: LabelSelector | undefined): boolean =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/**
 * Checks the EgressIPs of a scenario and assigns their IPs to nodes: IPv4 addresses of the underlay that no node
 * and no other EgressIP has, each on a labelled node (a node at most once per EgressIP, as cluster-manager assigns
 * them); a pod served by one EgressIP at most (ovn-kubernetes serves it by the first one only).
 */
export function resolveEgressIPs(
  specs: readonly EgressIPSpec[],
  nodeSpecs: readonly NodeSpec[],
  nodes: readonly LabNode[],
  namespaces: readonly NamespaceSpec[],
  pods: readonly LabPod[],
  underlayCidr: string,
): { egressIPs: LabEgressIP[]; problems: EgressIPProblem[] } {
  const problems: EgressIPProblem[] = [];
  const assignable = nodeSpecs
    .filter((n) => n.labels?.[EGRESS_ASSIGNABLE_LABEL] !== undefined)
    .map((n) => n.name);
  const underlay = parseCidr(underlayCidr);
  const taken = new Map<string, string>(nodes.map((n) => [n.ip, `node ${n.name}`]));
  const servedBy = new Map<LabPod, string>();
  const names = new Set<string>();
  let turn = 0;
  const egressIPs = specs.map((e, i) => {
    const f = `egressIPs[${i}]`;
    if (names.has(e.name)) problems.push([`${f}.name`, `duplicate EgressIP "${e.name}"`]);
    names.add(e.name);
    if (e.egressIPs.length === 0) problems.push([`${f}.egressIPs`, "an EgressIP needs at least one IP"]);
    if (e.nodes !== undefined && e.nodes.length !== e.egressIPs.length)
      problems.push([`${f}.nodes`, "one node per egress IP"]);
    if (e.nodes === undefined && assignable.length === 0)
      problems.push([`${f}.nodes`, `no node is labelled ${EGRESS_ASSIGNABLE_LABEL}`]);
    const status = e.egressIPs.map((text, j) => {
      const ip = parseIp(text);
      const field = `${f}.egressIPs[${j}]`;
      if (ip?.family !== 4) problems.push([field, `"${text}" is not an IPv4 address`]);
      else if (underlay !== undefined && !contains(underlay, ip))
        problems.push([field, `${text} is outside the underlay ${underlayCidr}`]);
      const canon = ip === undefined ? text : formatIp(ip);
      const other = taken.get(canon);
      if (other !== undefined) problems.push([field, `duplicate IP ${canon} (also ${other})`]);
      taken.set(canon, `EgressIP ${e.name}`);
      const node = e.nodes?.[j] ?? assignable[turn++ % Math.max(assignable.length, 1)] ?? "";
      if (e.nodes !== undefined && !assignable.includes(node))
        problems.push([`${f}.nodes[${j}]`, `node "${node}" is not labelled ${EGRESS_ASSIGNABLE_LABEL}`]);
      return { node, egressIP: canon };
    });
    const nodesUsed = status.map((s) => s.node);
    if (new Set(nodesUsed).size !== nodesUsed.length)
      problems.push([`${f}.nodes`, "a node holds at most one IP of an EgressIP"]);
    const nsSelected = new Set(
      [...new Set([...namespaces.map((n) => n.name), ...pods.map((p) => p.namespace)])].filter((ns) =>
        matches(
          { ...(namespaces.find((n) => n.name === ns)?.labels ?? {}), "kubernetes.io/metadata.name": ns },
          e.namespaceSelector,
        ),
      ),
    );
    const served = pods.filter(
      (p) => !p.hostNetwork && nsSelected.has(p.namespace) && matches(p.labels, e.podSelector),
    );
    for (const p of served) {
      const other = servedBy.get(p);
      if (other !== undefined)
        problems.push([f, `pod ${p.namespace}/${p.name} is also served by EgressIP ${other}`]);
      servedBy.set(p, e.name);
    }
    return {
      name: e.name,
      egressIPs: status.map((s) => s.egressIP),
      namespaceSelector: e.namespaceSelector,
      podSelector: e.podSelector ?? {},
      status,
      pods: served,
    };
  });
  return { egressIPs, problems };
}

/** The EgressIP as the API server serves it (k8s.ovn.org/v1, cluster-scoped), with the status cluster-manager writes. */
export function egressIPObject(e: LabEgressIP): Record<string, unknown> {
  return {
    apiVersion: "k8s.ovn.org/v1",
    kind: "EgressIP",
    metadata: {
      name: e.name,
      uid: `egressip-${e.name}`,
      resourceVersion: "1",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: { egressIPs: e.egressIPs, namespaceSelector: e.namespaceSelector, podSelector: e.podSelector },
    status: { items: e.status },
  };
}

/** Whether a node holds an egress IP (and so carries the egress-assignable label). */
export const isEgressNode = (egressIPs: readonly LabEgressIP[] | undefined, node: string): boolean =>
  (egressIPs ?? []).some((e) => e.status.some((s) => s.node === node));
