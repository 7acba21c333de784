import type { TraceTarget } from "../../src/model/target.js";

/**
 * The end-to-end matrix on examples/kind-dualstack.yaml: every case the fidelity test checks against
 * real packets, and the snapshot test checks offline against live.
 */
export interface Case {
  readonly name: string;
  readonly target: TraceTarget;
}

export const client = { namespace: "default", name: "client" };
export const CASES: readonly Case[] = [
  {
    name: "same node, UDP",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-kx2vq" },
      protocol: "udp",
      dstPort: 5353,
      family: 4,
    },
  },
  {
    name: "across nodes, UDP, IPv4",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "udp",
      dstPort: 5353,
      family: 4,
    },
  },
  {
    name: "across nodes, UDP, IPv6",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "udp",
      dstPort: 5353,
      family: 6,
    },
  },
  {
    name: "across nodes, ICMP",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "icmp",
      dstPort: 0,
      family: 4,
    },
  },
  {
    name: "across nodes, ICMPv6",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "icmp",
      dstPort: 0,
      family: 6,
    },
  },
  {
    name: "NetworkPolicy allows TCP 8080, IPv4",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 8080,
      family: 4,
    },
  },
  {
    name: "NetworkPolicy drops TCP 80, IPv4",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "NetworkPolicy drops TCP 80, IPv6",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    },
  },
  {
    name: "service kube-dns UDP 53, IPv4",
    target: {
      src: client,
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    },
  },
  {
    name: "service kube-dns TCP 53, IPv6",
    target: {
      src: client,
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "tcp",
      dstPort: 53,
      family: 6,
    },
  },
  {
    name: "service web (80 -> 8080), IPv4",
    target: {
      src: client,
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "egress NetworkPolicy drops TCP 8080 from the locked pod",
    target: {
      src: { namespace: "default", name: "locked" },
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 8080,
      family: 4,
    },
  },
  {
    name: "egress NetworkPolicy allows DNS from the locked pod",
    target: {
      src: { namespace: "default", name: "locked" },
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    },
  },
  {
    name: "to a host-network pod on the same node (through the management port)",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "monitoring", name: "node-exporter-7xq2m" },
      protocol: "tcp",
      dstPort: 9100,
      family: 4,
    },
  },
  {
    name: "to a host-network pod on another node (out through the gateway, SNAT)",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "monitoring", name: "node-exporter-k4r8d" },
      protocol: "tcp",
      dstPort: 9100,
      family: 4,
    },
  },
  {
    name: "Service without endpoints: rejected by its load balancer, IPv4",
    target: {
      src: client,
      dst: { kind: "service", namespace: "default", name: "no-endpoints" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "Service without endpoints: rejected by its load balancer, IPv6",
    target: {
      src: client,
      dst: { kind: "service", namespace: "default", name: "no-endpoints" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    },
  },
  {
    name: "Service without endpoints from another node's pod",
    target: {
      src: { namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      dst: { kind: "service", namespace: "default", name: "no-endpoints" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "service kube-dns from a node that runs one of its backends, IPv4",
    target: {
      src: { namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    },
  },
  {
    name: "hairpin: a pod to its own Service's VIP, IPv4",
    target: {
      src: { namespace: "default", name: "web" },
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "hairpin: a pod to its own Service's VIP, IPv6",
    target: {
      src: { namespace: "default", name: "web" },
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    },
  },
  {
    name: "hairpin by the Service's cluster IP given as -dst-ip",
    target: {
      src: { namespace: "default", name: "web" },
      dst: { kind: "ip", ip: "10.96.100.80" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "external address, SNAT",
    target: {
      src: client,
      dst: { kind: "ip", ip: "198.51.100.7" },
      protocol: "udp",
      dstPort: 443,
      family: 4,
    },
  },
];
