import type { ProbeResult, SeenPacket } from "../lab/probe.js";
import { hostPort } from "../net/ip.js";

/** `10.0.0.1:80`, `[fd00::1]:80`; a bare address when there is no port (ICMP). */
const endpoint = (ip: string, port: number | undefined): string =>
  port === undefined ? ip : hostPort(ip, port);

/** `lab probe`'s text: what was injected where, then one line per verdict, for people. */
export function probeText(r: ProbeResult): string {
  const i = r.injected;
  const icmp = i.protocol === "icmp";
  const head = `probe ${i.protocol.toUpperCase()} ${endpoint(i.srcIp, icmp ? undefined : i.srcPort)} -> ${endpoint(i.dstIp, icmp ? undefined : i.dstPort)} injected on ${i.node} (${i.iface})`;
  const v = r.verdict;
  const pkt = (p: SeenPacket): string =>
    `${endpoint(p.src, p.srcPort)} -> ${endpoint(p.dst, p.dstPort)}, ttl ${String(p.ttl)}`;
  switch (v.kind) {
    case "delivered":
      return `${head}\n  delivered to pod ${v.namespace}/${v.pod} on ${v.node}: ${pkt(v.packet)}`;
    case "delivered-to-host":
      return `${head}\n  delivered to the host of ${v.node} (ovn-k8s-mp0): ${pkt(v.packet)}`;
    case "left-cluster":
      return `${head}\n  left the cluster through ${v.node}'s uplink: ${pkt(v.packet)}`;
    case "rejected":
      return `${head}\n  rejected: ${v.packet.summary}`;
    case "not-delivered":
      return `${head}\n  not delivered anywhere`;
  }
}
