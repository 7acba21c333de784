import { describe, expect, it } from "vitest";
import { EXTERNAL_SOURCE_MAC, externalAt, planTraces, replyFromOutsideTo } from "../../src/engine/plan.js";
import type { Resolution, ResolvedNode, ResolvedPod } from "../../src/model/target.js";

/** A two-node resolution in the shape resolve.ts makes (values as on the kind-dualstack lab). */
const node = (name: string, n: number, mac: string): ResolvedNode => ({
  name,
  zone: name,
  gatewayMode: "shared",
  subnets: [`10.244.${String(n)}.0/24`],
  gatewayMac: `0a:58:0a:f4:0${String(n)}:01`,
  gateway: {
    bridge: "breth0",
    interfaceId: `breth0_${name}`,
    mac,
    ips: [`172.18.0.${String(n + 2)}`],
    nextHops: ["172.18.0.1"],
  },
});
const nodes = new Map([
  ["ovn-worker", node("ovn-worker", 1, "02:42:ac:12:00:03")],
  ["ovn-worker2", node("ovn-worker2", 2, "02:42:ac:12:00:04")],
]);
const web: ResolvedPod = {
  kind: "pod",
  namespace: "default",
  name: "web",
  node: "ovn-worker2",
  ip: "10.244.2.4",
  mac: "0a:58:0a:f4:02:04",
  hostNetwork: false,
  lsp: "default_web",
};
const client: ResolvedPod = {
  ...web,
  name: "client",
  node: "ovn-worker",
  ip: "10.244.1.3",
  lsp: "default_client",
};
const base = { family: 4, protocol: "tcp", nodes, interconnect: true } as const;

describe("planning traffic across the cluster's edge", () => {
  const fromOutside: Resolution = {
    ...base,
    dstPort: 30080,
    src: externalAt({ ...base, dstPort: 0, src: client, dst: web }, "172.18.0.1", "ovn-worker") ?? client,
    dst: {
      kind: "service",
      namespace: "default",
      name: "web",
      ip: "172.18.0.3",
      port: 30080,
      nodePort: 30080,
      targetPort: 8080,
      backends: [web],
    },
  };

  it("a client outside enters at the node's uplink, from the gateway config: its localnet port, bridge, MAC", () => {
    expect(fromOutside.src).toEqual({
      kind: "external",
      ip: "172.18.0.1",
      node: "ovn-worker",
      mac: EXTERNAL_SOURCE_MAC,
      lsp: "breth0_ovn-worker",
      bridge: "breth0",
      nodeMac: "02:42:ac:12:00:03",
      nodeIp: "172.18.0.3",
    });
  });

  it("to a NodePort: addressed to the node's IP and MAC, the load balancer's backend wanted; the reply goes out", () => {
    const [p] = planTraces(fromOutside, { srcPort: 40000 });
    expect(p?.forward).toMatchObject({
      from: { kind: "external", ip: "172.18.0.1" },
      dstIp: "172.18.0.3",
      dstPort: 30080,
      dstMac: "02:42:ac:12:00:03",
      srcPort: 40000,
      ctState: "trk,new",
      lbDst: { ip: "10.244.2.4", port: 8080 },
      expect: { kind: "pod", lsp: "default_web" },
    });
    expect(p?.reply).toMatchObject({
      from: { name: "web" },
      to: { kind: "external", ip: "172.18.0.1" },
      dstIp: "172.18.0.1",
      srcPort: 8080,
      dstPort: 40000,
      dstMac: "0a:58:0a:f4:02:01",
      ctState: "trk,est,rpl",
      expect: { kind: "external" },
    });
  });

  const toOutside: Resolution = {
    ...base,
    dstPort: 443,
    src: client,
    dst: { kind: "external", ip: "198.51.100.7" },
  };

  it("a pod to an address outside: no reply unless asked for (the Go tool's plan stays as it was)", () => {
    expect(planTraces(toOutside)[0]?.reply).toBeUndefined();
  });

  it("asked for, the reply comes in at the pod's node and goes on from where the packet left, SNATed", () => {
    const reply = planTraces(toOutside, { srcPort: 41000, replyFromOutside: true })[0]?.reply;
    expect(reply).toMatchObject({
      from: { kind: "external", ip: "198.51.100.7", node: "ovn-worker", nodeMac: "02:42:ac:12:00:03" },
      dstIp: "10.244.1.3",
      srcPort: 443,
      dstPort: 41000,
      expect: { kind: "pod", lsp: "default_client" },
    });
    if (reply === undefined) return;
    expect(
      replyFromOutsideTo(toOutside, reply, { node: "ovn-worker2", srcIp: "172.18.0.4", srcPort: 41001 }),
    ).toMatchObject({
      from: { kind: "external", node: "ovn-worker2", nodeMac: "02:42:ac:12:00:04" },
      dstIp: "172.18.0.4",
      dstPort: 41001,
      dstMac: "02:42:ac:12:00:04",
    });
    const unknownNode = replyFromOutsideTo(toOutside, reply, { node: "elsewhere", srcIp: "1.2.3.4" });
    expect(unknownNode).toBeUndefined();
  });
});
