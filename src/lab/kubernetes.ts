import { createHash } from "node:crypto";
import type { Family } from "../net/ip.js";
import type { LabCluster, LabNode, LabPod, LabService } from "./cluster.js";
import { TRANSIT_NETWORK, JOIN_NETWORK } from "./cluster.js";
import { EGRESS_ASSIGNABLE_LABEL, egressIPObject, isEgressNode } from "./egress-ip.js";
import type { EgressFirewallSpec } from "./egress-firewall-scenario.js";
import {
  defaultNetworkRole,
  primaryNetworkEntry,
  udnNodeSubnets,
  userDefinedNetworkObjects,
} from "./udn-kubernetes.js";

/**
 * The Kubernetes objects of a lab, as the API server of a real ovn-kubernetes cluster would
 * serve them: Nodes and Pods with the ovn-kubernetes annotations, Services, EndpointSlices,
 * Namespaces, NetworkPolicies, and one ovnkube-node pod per node in namespace ovn-kubernetes.
 */

export const OVN_NAMESPACE = "ovn-kubernetes";
type Obj = Record<string, unknown>;

const CREATED = "2026-01-01T00:00:00Z";
const len = (cidr: string | undefined): string => cidr?.split("/")[1] ?? "";
const fams = (c: LabCluster): readonly Family[] => c.families;
const suffix = (s: string, n = 5): string =>
  [...createHash("sha1").update(s).digest()]
    .map((b) => "bcdfghjklmnpqrstvwxz2456789"[b % 27])
    .join("")
    .slice(0, n);

function meta(name: string, namespace: string | undefined, uid: string, extra: Obj = {}): Obj {
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    uid,
    resourceVersion: "1",
    creationTimestamp: CREATED,
    ...extra,
  };
}

/** As cluster-manager writes it: Go's json.Marshal of map[name]id-string, so keys sorted, ids as strings. */
function networkIds(c: LabCluster): string {
  const ids: [string, string][] = [
    ["default", "0"],
    ...c.userDefinedNetworks.map((u): [string, string] => [u.name, String(u.id)]),
  ];
  ids.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${ids.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
}

function nodeObject(c: LabCluster, n: LabNode): Obj {
  const f = fams(c);
  const byFam = (m: Partial<Record<Family, string>>, net: Record<Family, string>): Obj =>
    Object.fromEntries(f.flatMap((x) => (m[x] === undefined ? [] : [[`ipv${x}`, `${m[x]}/${len(net[x])}`]])));
  const hostCidrs = [`${n.ip}/${len(c.underlay.cidr)}`, ...(n.ipv6 === undefined ? [] : [`${n.ipv6}/64`])];
  const nextHops = [
    c.underlay.gateway,
    ...(n.ipv6 !== undefined && c.underlay.gatewayV6 !== undefined ? [c.underlay.gatewayV6] : []),
  ];
  const gw = {
    mode: c.gatewayMode === "local" ? "local" : "shared",
    "bridge-id": "breth0",
    "interface-id": `breth0_${n.name}`,
    "mac-address": n.mac,
    "ip-addresses": hostCidrs,
    ...(hostCidrs.length === 1 ? { "ip-address": hostCidrs[0] } : {}),
    "next-hops": nextHops,
    ...(nextHops.length === 1 ? { "next-hop": nextHops[0] } : {}),
    "node-port-enable": "true",
    "vlan-id": "0",
  };
  const subnets = f.flatMap((x) => n.subnets[x] ?? []);
  const annotations: Record<string, string> = {
    "k8s.ovn.org/node-chassis-id": n.chassisId,
    "k8s.ovn.org/zone-name": n.zone,
    "k8s.ovn.org/node-id": String(n.nodeId),
    "k8s.ovn.org/network-ids": networkIds(c),
    "k8s.ovn.org/node-subnets": JSON.stringify({ default: subnets, ...udnNodeSubnets(c, n) }),
    "k8s.ovn.org/l3-gateway-config": JSON.stringify({ default: gw }),
    "k8s.ovn.org/node-gateway-router-lrp-ifaddrs": JSON.stringify({
      default: byFam(n.joinIps, JOIN_NETWORK),
    }),
    "k8s.ovn.org/node-primary-ifaddr": JSON.stringify({
      ipv4: `${n.ip}/${len(c.underlay.cidr)}`,
      ...(n.ipv6 === undefined ? {} : { ipv6: `${n.ipv6}/64` }),
    }),
    "k8s.ovn.org/host-cidrs": JSON.stringify([...hostCidrs].sort()),
    "k8s.ovn.org/node-mgmt-port-mac-addresses": JSON.stringify({ default: n.mgmtMac }),
  };
  if (c.shape === "interconnect") {
    annotations["k8s.ovn.org/node-transit-switch-port-ifaddr"] = JSON.stringify(
      byFam(n.transitIps, TRANSIT_NETWORK),
    );
  }
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: meta(n.name, undefined, n.chassisId, {
      labels: {
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        "k8s.ovn.org/zone-name": n.zone,
        ...(isEgressNode(c.egressIPs, n.name) ? { [EGRESS_ASSIGNABLE_LABEL]: "" } : {}),
      },
      annotations,
    }),
    spec: { podCIDR: subnets[0], podCIDRs: subnets },
    status: {
      addresses: [
        { type: "InternalIP", address: n.ip },
        ...(n.ipv6 === undefined ? [] : [{ type: "InternalIP", address: n.ipv6 }]),
        { type: "Hostname", address: n.name },
      ],
      conditions: [{ type: "Ready", status: "True" }],
      nodeInfo: {
        kubeletVersion: "v1.31.0",
        containerRuntimeVersion: "containerd://1.7.0",
        osImage: "ovnkube-trace lab",
      },
    },
  };
}

function podObject(c: LabCluster, p: LabPod): Obj {
  const node = c.nodes.find((n) => n.name === p.node);
  const ips = fams(c).flatMap((f) => (p.ips[f] === undefined ? [] : [p.ips[f]]));
  const annotations: Record<string, string> = {};
  if (!p.hostNetwork && node !== undefined) {
    const withLen = fams(c).flatMap((f) =>
      p.ips[f] === undefined ? [] : [`${p.ips[f]}/${len(node.subnets[f])}`],
    );
    const gateways = fams(c).flatMap((f) =>
      p.ips[f] === undefined ? [] : [node.gatewayCidrs[f]?.split("/")[0] ?? ""],
    );
    // on a primary user-defined network, the default network keeps no default route (no gateway)
    const locked = p.primaryNetwork !== undefined;
    annotations["k8s.ovn.org/pod-networks"] = JSON.stringify({
      default: {
        ip_addresses: withLen,
        mac_address: p.mac,
        ...(locked ? {} : { gateway_ips: gateways }),
        routes: fams(c).flatMap((f) => {
          const gw = node.gatewayCidrs[f]?.split("/")[0];
          if (gw === undefined || p.ips[f] === undefined) return [];
          return [c.clusterNetwork[f], ...(locked ? [] : [JOIN_NETWORK[f]])].flatMap((dest) =>
            dest === undefined ? [] : [{ dest, nextHop: gw }],
          );
        }),
        ...(withLen.length === 1
          ? { ip_address: withLen[0], ...(locked ? {} : { gateway_ip: gateways[0] }) }
          : {}),
        role: defaultNetworkRole(p),
      },
      ...primaryNetworkEntry(c, p),
    });
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta(p.name, p.namespace, p.uid, { labels: p.labels, annotations }),
    spec: {
      nodeName: p.node,
      hostNetwork: p.hostNetwork,
      containers: [
        {
          name: p.name.replace(/-[a-z0-9]{5,10}(-[a-z0-9]{5})?$/, "") || "main",
          image: "registry.k8s.io/e2e-test-images/agnhost:2.45",
          ports: p.containerPorts.map((cp) => ({
            containerPort: cp.port,
            protocol: cp.protocol,
            ...(cp.name ? { name: cp.name } : {}),
          })),
        },
      ],
    },
    status: {
      phase: "Running",
      hostIP: node?.ip,
      hostIPs: node === undefined ? [] : [{ ip: node.ip }],
      podIP: ips[0],
      podIPs: ips.map((ip) => ({ ip })),
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

function ovnkubeNodePod(c: LabCluster, n: LabNode): Obj {
  const name = `ovnkube-node-${suffix(n.name)}`;
  const main = c.shape === "interconnect" ? "ovnkube-controller" : "ovnkube-node";
  const containers =
    c.shape === "interconnect"
      ? ["nb-ovsdb", "sb-ovsdb", "ovn-northd", main, "ovn-controller"]
      : [main, "ovn-controller"];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta(name, OVN_NAMESPACE, `ovnkube-node-${n.chassisId}`, {
      labels: { app: "ovnkube-node", "ovn-db-pod": "false" },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "DaemonSet", name: "ovnkube-node", uid: "ovnkube-node" },
      ],
    }),
    spec: {
      nodeName: n.name,
      hostNetwork: true,
      containers: containers.map((x) => ({
        name: x,
        image: "ghcr.io/ovn-kubernetes/ovn-kubernetes/ovn-kube-ubuntu:master",
      })),
    },
    status: {
      phase: "Running",
      hostIP: n.ip,
      podIP: n.ip,
      podIPs: [{ ip: n.ip }],
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

function serviceObject(c: LabCluster, s: LabService): Obj {
  const ips = fams(c).flatMap((f) => (s.clusterIPs[f] === undefined ? [] : [s.clusterIPs[f]]));
  const families = fams(c)
    .filter((f) => s.clusterIPs[f] !== undefined)
    .map((f) => `IPv${f}`);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(s.name, s.namespace, s.uid),
    spec: {
      type: s.type,
      clusterIP: ips[0],
      clusterIPs: ips,
      ipFamilies: families,
      ipFamilyPolicy: families.length > 1 ? "PreferDualStack" : "SingleStack",
      ...(s.selector === undefined ? {} : { selector: s.selector }),
      ports: s.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        protocol: p.protocol,
        port: p.port,
        targetPort: p.targetPort,
        ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }),
      })),
      sessionAffinity: "None",
      // the API server's defaults: an external policy for NodePorts, an internal one for every Service
      ...(s.type === "NodePort" ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
      internalTrafficPolicy: s.internalTrafficPolicy,
    },
    status: { loadBalancer: {} },
  };
}

function endpointSlices(c: LabCluster, s: LabService): Obj[] {
  if (s.selector === undefined) return [];
  return fams(c)
    .filter((f) => s.clusterIPs[f] !== undefined)
    .map((f) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: meta(
        `${s.name}-${suffix(`${s.namespace}/${s.name}/${f}`)}`,
        s.namespace,
        `eps-${f}-${s.uid}`,
        {
          labels: {
            "kubernetes.io/service-name": s.name,
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
          },
          ownerReferences: [{ apiVersion: "v1", kind: "Service", name: s.name, uid: s.uid }],
        },
      ),
      addressType: `IPv${f}`,
      endpoints: s.endpoints.flatMap((p) =>
        p.ips[f] === undefined
          ? []
          : [
              {
                addresses: [p.ips[f]],
                conditions: { ready: true, serving: true, terminating: false },
                nodeName: p.node,
                targetRef: { kind: "Pod", namespace: p.namespace, name: p.name, uid: p.uid },
              },
            ],
      ),
      ports: s.ports.map((p) => ({
        ...(p.name ? { name: p.name } : { name: "" }),
        protocol: p.protocol,
        port: p.targetPort,
      })),
    }));
}

/** An EgressFirewall (always named "default"), with the status each zone's ovnkube-controller gives it. */
function egressFirewallObject(c: LabCluster, ef: EgressFirewallSpec): Obj {
  const applied = "EgressFirewall Rules applied";
  return {
    apiVersion: "k8s.ovn.org/v1",
    kind: "EgressFirewall",
    metadata: meta("default", ef.namespace, `ef-${ef.namespace}`),
    spec: { egress: ef.egress },
    status: { status: applied, messages: [...new Set(c.nodes.map((n) => `${n.zone}: ${applied}`))] },
  };
}

/** Every object of the lab, as one `v1 List` (what `kubectl get -o json` of several kinds gives). */
export function kubernetesObjects(c: LabCluster): Obj {
  const items: Obj[] = [
    ...[...c.namespaces, { name: OVN_NAMESPACE }].map((ns) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: meta(ns.name, undefined, `ns-${ns.name}`, {
        labels: { ...("labels" in ns ? ns.labels : {}), "kubernetes.io/metadata.name": ns.name },
      }),
      status: { phase: "Active" },
    })),
    ...c.nodes.map((n) => nodeObject(c, n)),
    ...c.pods.map((p) => podObject(c, p)),
    ...c.nodes.map((n) => ovnkubeNodePod(c, n)),
    ...c.services.map((s) => serviceObject(c, s)),
    ...c.services.flatMap((s) => endpointSlices(c, s)),
    ...c.networkPolicies.map((np) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(np.name, np.namespace, `np-${np.namespace}-${np.name}`),
      spec: {
        podSelector: np.podSelector,
        policyTypes:
          np.policyTypes ??
          (np.egress !== undefined && np.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"]),
        ...(np.ingress === undefined ? {} : { ingress: np.ingress }),
        ...(np.egress === undefined ? {} : { egress: np.egress }),
      },
    })),
    ...c.egressFirewalls.map((ef) => egressFirewallObject(c, ef)),
    ...(c.egressIPs ?? []).map(egressIPObject),
    ...userDefinedNetworkObjects(c),
  ];
  return { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items };
}
