import { describe, expect, it } from "vitest";
import { traceRunDocument } from "../../../src/render/document.js";
import { buildPath, type PathModel } from "../../../src/render/html/path-model.js";
import type { TraceRunDirection, TraceRunReport } from "../../../src/model/trace-run.js";
import { recordedCase } from "../../golden/recorded.js";

/**
 * The path the HTML report draws, from recorded real runs of the lab: every datapath on the node OVN runs it
 * on (a central zone's one ovn-trace cut at the tunnel: the destination switch's egress runs on the
 * destination node), the tunnel, the NATs where they happen, the drop where it happened.
 */

function path(name: string, which: "forward" | "reply" = "forward", report = 0): PathModel {
  const r: TraceRunReport | undefined = traceRunDocument(recordedCase(name).reports, false).reports[report];
  if (r === undefined) throw new Error(`no report ${String(report)} in ${name}`);
  const d: TraceRunDirection | undefined = which === "forward" ? r.forward : r.reply;
  if (d === undefined) throw new Error(`no ${which} in ${name}`);
  return buildPath(r, d, "t");
}

const steps = (m: PathModel): string[] => m.elements.map((e) => `${e.title} @${e.node ?? "-"}`);
const labelsAfter = (m: PathModel, title: string): string[] => {
  const e = m.elements.find((x) => x.title === title);
  return m.edges.find((x) => x.from === e?.id)?.labels.map((l) => l.text) ?? [];
};

const W = "ovn-worker";
const W2 = "ovn-worker2";

describe("the path of a direction", () => {
  it("interconnect pod to pod: each zone's datapaths on its node, the transit switch's tunnel between", () => {
    const m = path("interconnect-pod-to-pod-tcp8080");
    expect(steps(m)).toEqual([
      `pod default/client @${W}`,
      `ovn-worker @${W}`,
      `ovn_cluster_router @${W}`,
      `transit_switch @${W}`,
      `transit_switch @${W2}`,
      `ovn_cluster_router @${W2}`,
      `ovn-worker2 @${W2}`,
      `pod default/web @${W2}`,
    ]);
    expect(m.nodes).toEqual([W, W2]);
    const tunnels = m.edges.filter((e) => e.tunnel);
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]?.labels[0]?.text).toBe(
      "geneve tunnel ovn-worker → ovn-worker2 (172.18.0.4), VNI 0xff0003 (16711683), ports 3 → 4",
    );
    expect(m.elements.map((e) => e.lines[0])).toEqual([
      "10.244.1.3",
      "node switch",
      "cluster router",
      "transit switch",
      "transit switch",
      "cluster router",
      "node switch",
      "delivered",
    ]);
    expect(steps(path("interconnect-pod-to-pod-tcp8080", "reply")).at(-1)).toBe(`pod default/client @${W}`);
  });

  it("central pod to pod: one ovn-trace cut at the tunnel, the destination switch's egress on its node", () => {
    const m = path("central-pod-to-pod-tcp8080");
    expect(steps(m)).toEqual([
      `pod default/client @${W}`,
      `ovn-worker @${W}`,
      `ovn_cluster_router @${W}`,
      `ovn-worker2 @${W}`,
      `ovn-worker2 @${W2}`,
      `pod default/web @${W2}`,
    ]);
    expect(m.elements[3]?.lines[1]).toBe("ingress");
    expect(m.elements[4]?.lines[1]).toBe("egress");
    expect(m.edges[3]?.tunnel).toBe(true);
    expect(m.edges[3]?.labels[0]?.text).toMatch(/^geneve tunnel ovn-worker → ovn-worker2 .*VNI 0x7 \(7\)/);
  });

  it("a policy drop ends the path where it happened, with the NetworkPolicy", () => {
    for (const name of ["central-policy-drop-tcp80", "interconnect-policy-drop-tcp80"]) {
      const m = path(name);
      const drop = m.elements.at(-1);
      expect(drop?.kind).toBe("dropped");
      expect(drop?.title).toBe("dropped");
      expect(drop?.node).toBe(W2);
      expect(drop?.lines.join(" ")).toMatch(/NetworkPolicy default\/allow-8080/);
      expect(m.elements.at(-2)?.title).toBe("ovn-worker2");
      expect(m.elements.at(-2)?.node).toBe(W2);
      expect(m.elements.filter((e) => e.kind === "pod").map((e) => e.title)).toEqual(["pod default/client"]);
    }
    expect(path("central-policy-drop-tcp80").edges.find((e) => e.tunnel)?.labels[0]?.text).toMatch(
      /VNI 0x7 \(7: ovn-worker2\), ports stor-ovn-worker2 → default_web$/,
    );
  });

  it("a service: the DNAT after the source switch's load balancer, the reply's source restored", () => {
    const m = path("interconnect-service-udp53");
    expect(steps(m)).toEqual([
      `pod default/client @${W}`,
      `ovn-worker @${W}`,
      `ovn_cluster_router @${W}`,
      `transit_switch @${W}`,
      `transit_switch @ovn-control-plane`,
      `ovn_cluster_router @ovn-control-plane`,
      `ovn-control-plane @ovn-control-plane`,
      `pod kube-system/coredns-5d78c9869d-x7k2p @ovn-control-plane`,
    ]);
    expect(labelsAfter(m, "ovn-worker")).toEqual([
      "DNAT 10.96.0.10:53 → 10.244.0.3:53 (Service kube-system/kube-dns)",
    ]);
    const second = path("interconnect-service-udp53", "forward", 1);
    expect(second.elements.at(-1)?.title).toBe("pod kube-system/coredns-5d78c9869d-qm4zt");
    const reply = path("interconnect-service-udp53", "reply");
    expect(reply.edges.at(-1)?.labels.map((l) => l.text)).toEqual([
      "un-DNAT 10.244.0.3:53 → 10.96.0.10:53 (conntrack: the reply comes from the address the client sent to)",
    ]);
  });

  it("to an external address: through the gateway router, SNAT there, out of the node's uplink", () => {
    for (const name of ["central-external-udp443", "interconnect-external-udp443"]) {
      const m = path(name);
      expect(steps(m)).toEqual([
        `pod default/client @${W}`,
        `ovn-worker @${W}`,
        `ovn_cluster_router @${W}`,
        `join @${W}`,
        `GR_ovn-worker @${W}`,
        `ext_ovn-worker @${W}`,
        `exit eth0 @${W}`,
        "external 198.51.100.7 @-",
      ]);
      expect(m.elements[4]?.lines[0]).toBe("gateway router of ovn-worker");
      expect(labelsAfter(m, "GR_ovn-worker")).toEqual([
        "SNAT 10.244.1.3:52888 → 172.18.0.3:52888 (the IP of node ovn-worker: SNAT by its gateway router GR_ovn-worker)",
      ]);
      expect(m.edges.some((e) => e.tunnel)).toBe(false);
    }
  });
});
