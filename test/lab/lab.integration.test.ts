import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../src/ovs/daemon.js";
import { labDown, labUp, readLabState, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe } from "../../src/lab/probe.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { examplePods, newLabDir } from "../helpers/lab.js";

/**
 * The example lab, both shapes, checked with real packets injected into the real datapath.
 * Expected values come from the scenario file as written, not from the lab code.
 */
const SCENARIO = `${EXAMPLES_DIR}kind-dualstack.yaml`;
const declared = examplePods(SCENARIO);
const pod = (name: string) => {
  const p = declared.find((x) => x.name === name || x.name.startsWith(name));
  if (p === undefined) throw new Error(`scenario has no pod ${name}`);
  return p;
};
const v4 = (name: string) => pod(name).ips.find((i) => !i.includes(":")) ?? "";
const v6 = (name: string) => pod(name).ips.find((i) => i.includes(":")) ?? "";
const client = pod("client");
const sameNodePeer = declared.find((p) => p.node === client.node && p.name !== client.name);
const web = pod("web");
// a pod on another node that no NetworkPolicy selects
const remotePeer = declared.find((p) => p.node !== client.node && p.name.startsWith("fedora"));
// The underlay as the scenario leaves it by default: 172.18.0.0/16, nodes at .2, .3, ... in order.
const NODE_ORDER = ["ovn-control-plane", "ovn-worker", "ovn-worker2"];
const nodeIp = (node: string) => `172.18.0.${NODE_ORDER.indexOf(node) + 2}`;
const KUBE_DNS_V4 = "10.96.0.10";
const KUBE_DNS_V6 = "fd00:10:96::a";
const coredns = declared.filter((p) => p.name.startsWith("coredns"));

describe.each(["central", "interconnect"] as const)("lab (%s shape), real packets", (shape) => {
  let s: LabState;
  let upMs = 0;

  beforeAll(async () => {
    const t = performance.now();
    s = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
    upMs = performance.now() - t;
  });
  afterAll(async () => {
    await labDown(s.dir);
  });

  it("comes up well within 5 s with every daemon running", () => {
    expect(upMs).toBeLessThan(5000);
    const expected = shape === "central" ? 3 + 2 * 3 + 3 + 2 : 3 * (3 + 3) + 2;
    expect(s.daemons.length).toBe(expected);
    for (const d of s.daemons) expect(isAlive(d.pid), `${d.owner}/${d.program}`).toBe(true);
  });

  it("pod to pod on the same node (IPv4): delivered unchanged, no routing", async () => {
    if (sameNodePeer === undefined) throw new Error("scenario has no second pod on the client's node");
    const r = await probe(s, {
      src: client,
      dst: { kind: "pod", ...sameNodePeer },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    });
    expect(r.verdict).toMatchObject({
      kind: "delivered",
      namespace: sameNodePeer.namespace,
      pod: sameNodePeer.name,
      node: client.node,
    });
    if (r.verdict.kind !== "delivered") return;
    expect(r.verdict.packet).toMatchObject({ src: v4("client"), dst: sameNodePeer.ips[0], ttl: 64 });
    expect(r.arrivals.some((a) => a.geneve !== undefined)).toBe(false);
  });

  for (const family of [4, 6] as const) {
    it(`pod to pod across nodes over geneve (IPv${family})`, async () => {
      if (remotePeer === undefined) throw new Error("scenario has no fedora pod on another node");
      const r = await probe(s, {
        src: client,
        dst: { kind: "pod", ...remotePeer },
        protocol: "udp",
        dstPort: 5353,
        family,
      });
      const ip = family === 4 ? v4 : v6;
      expect(r.verdict).toMatchObject({
        kind: "delivered",
        namespace: "default",
        pod: remotePeer.name,
        node: remotePeer.node,
      });
      if (r.verdict.kind !== "delivered") return;
      expect(r.verdict.packet).toMatchObject({ src: ip("client"), dst: ip(remotePeer.name), dstPort: 5353 });
      // routed once per cluster router: once in central, once per zone in interconnect
      expect(r.verdict.packet.ttl).toBe(shape === "central" ? 63 : 62);
      const tunnel = r.arrivals.find((a) => a.geneve !== undefined);
      expect(tunnel?.geneve).toMatchObject({
        outerSrc: nodeIp(client.node),
        outerDst: nodeIp(remotePeer.node),
      });
      if (shape === "interconnect") expect(tunnel?.geneve?.vni).toBe(16711683);
    });
  }

  it("TCP 80 to web is dropped by the NetworkPolicy, TCP 8080 is delivered (IPv4 and IPv6)", async () => {
    for (const family of [4, 6] as const) {
      const dropped = await probe(s, {
        src: client,
        dst: { kind: "pod", ...web },
        protocol: "tcp",
        dstPort: 80,
        family,
      });
      expect(dropped.verdict.kind, `IPv${family} TCP 80`).toBe("not-delivered");
      // the SYN did leave the client's node: the drop happens on the destination side
      expect(dropped.arrivals.some((a) => a.geneve?.outerDst === nodeIp(web.node))).toBe(true);
      const allowed = await probe(s, {
        src: client,
        dst: { kind: "pod", ...web },
        protocol: "tcp",
        dstPort: 8080,
        family,
      });
      expect(allowed.verdict, `IPv${family} TCP 8080`).toMatchObject({ kind: "delivered", pod: "web" });
    }
  });

  it("pod to ClusterIP service: DNAT to one of the kube-dns backends (IPv4 and IPv6)", async () => {
    for (const [family, vip] of [
      [4, KUBE_DNS_V4],
      [6, KUBE_DNS_V6],
    ] as const) {
      const r = await probe(s, {
        src: client,
        dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
        protocol: "udp",
        dstPort: 53,
        family,
      });
      expect(r.injected.dstIp).toBe(vip);
      expect(r.verdict.kind).toBe("delivered");
      const v = r.verdict;
      if (v.kind !== "delivered") return;
      const backend = coredns.find((p) => p.name === v.pod);
      expect(backend, `delivered to ${v.pod}`).toBeDefined();
      expect(v.node).toBe(backend?.node);
      // the destination was rewritten to the backend's address of that family
      expect(v.packet.dst).toBe(backend?.ips.find((i) => i.includes(":") === (family === 6)));
      expect(v.packet.dstPort).toBe(53);
    }
  });

  it("ICMP and ICMPv6 echo requests cross nodes", async () => {
    if (remotePeer === undefined) throw new Error("scenario has no fedora pod on another node");
    for (const family of [4, 6] as const) {
      const r = await probe(s, {
        src: client,
        dst: { kind: "pod", ...remotePeer },
        protocol: "icmp",
        family,
      });
      expect(r.verdict, `IPv${family}`).toMatchObject({ kind: "delivered", pod: remotePeer.name });
      if (r.verdict.kind === "delivered")
        expect(r.verdict.packet.protocol).toBe(family === 4 ? "icmp" : "icmpv6");
    }
  });

  it("a service without endpoints rejects: a TCP RST from the VIP comes back to the client", async () => {
    for (const family of [4, 6] as const) {
      const r = await probe(s, {
        src: client,
        dst: { kind: "service", namespace: "default", name: "no-endpoints" },
        protocol: "tcp",
        dstPort: 80,
        family,
      });
      expect(r.verdict.kind, `IPv${family}`).toBe("rejected");
      if (r.verdict.kind !== "rejected") return;
      expect(r.verdict.packet).toMatchObject({
        src: r.injected.dstIp,
        dst: r.injected.srcIp,
        tcpFlags: expect.arrayContaining(["rst"]) as unknown,
      });
    }
  });

  it("a NodePort on the client's node IP is DNATed to the backend's target port", async () => {
    const r = await probe(s, {
      src: client,
      dst: { kind: "ip", ip: nodeIp(client.node) },
      protocol: "tcp",
      dstPort: 30080,
      family: 4,
    });
    expect(r.verdict).toMatchObject({ kind: "delivered", pod: "web", node: web.node });
    if (r.verdict.kind === "delivered")
      expect(r.verdict.packet).toMatchObject({ dst: v4("web"), dstPort: 8080 });
  });

  it("pod to an external address leaves through its node's gateway router, SNATed to the node IP", async () => {
    const r = await probe(s, {
      src: client,
      dst: { kind: "ip", ip: "198.51.100.7" },
      protocol: "udp",
      dstPort: 443,
      family: 4,
    });
    expect(r.verdict).toMatchObject({ kind: "left-cluster", node: client.node });
    if (r.verdict.kind !== "left-cluster") return;
    expect(r.verdict.packet).toMatchObject({ src: nodeIp(client.node), dst: "198.51.100.7", dstPort: 443 });
  });

  it("a second lab up of the same scenario is a no-op; a different one is a clear error", async () => {
    const again = await labUp(loadScenarioFile(SCENARIO, shape), s.dir);
    expect(again.started).toBe(false);
    expect(again.state.daemons.map((d) => d.pid)).toEqual(s.daemons.map((d) => d.pid));
    const other = shape === "central" ? "interconnect" : "central";
    await expect(labUp(loadScenarioFile(SCENARIO, other), s.dir)).rejects.toThrow(
      /a different lab .* is running/,
    );
    for (const d of s.daemons) expect(isAlive(d.pid)).toBe(true);
  });

  it("writes the OVN databases with ovn-kubernetes' names and external_ids", async () => {
    const zoneNode = shape === "central" ? client.node : web.node;
    const nb = async (...args: string[]) => (await runOnNode(s, zoneNode, ["ovn-nbctl", ...args])).stdout;
    const lbs = await nb(
      "--bare",
      "--columns=name",
      "find",
      "load_balancer",
      'external_ids:"k8s.ovn.org/owner"="kube-system/kube-dns"',
    );
    expect(lbs.split("\n").filter(Boolean).sort()).toEqual([
      "Service_kube-system/kube-dns_TCP_cluster",
      "Service_kube-system/kube-dns_UDP_cluster",
    ]);
    const acl = await nb(
      "--bare",
      "--columns=match,priority,action",
      "find",
      "acl",
      'external_ids:"k8s.ovn.org/name"="default:allow-8080"',
    );
    expect(acl).toContain("tcp.dst==8080");
    expect(acl).toContain("allow-related");
    // port groups are named a<FNV-64a of k8s.ovn.org/id>, never after the policy
    const pgs = await nb("--bare", "--columns=name", "list", "port_group");
    for (const name of pgs.split("\n").filter(Boolean)) expect(name).toMatch(/^a\d+$/);
    const switches = await nb("--bare", "--columns=name", "list", "logical_switch");
    expect(switches).toContain(`ext_${zoneNode}`);
    expect(switches).toContain("join");
    if (shape === "interconnect") expect(switches).toContain("transit_switch");
  });
});

describe("lab down", () => {
  it("stops every daemon it started, by pid, within a second, and removes its directory", async () => {
    const dir = newLabDir();
    const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), dir);
    const t = performance.now();
    const n = await labDown(dir);
    const ms = performance.now() - t;
    expect(n).toBe(state.daemons.length);
    expect(ms).toBeLessThan(1000);
    for (const d of state.daemons) expect(isAlive(d.pid)).toBe(false);
    expect(readLabState(dir)).toBeUndefined();
    // no kernel interface was created by the lab
    expect(execFileSync("ip", ["-o", "link"]).toString()).not.toMatch(/breth0|br-int|genev_sys/);
  });
});
