import { describe, expect, it } from "vitest";
import { handoffRule, parseRouteGet } from "../../src/engine/host-handoff.js";
import type { Hop, Step } from "../../src/model/report.js";

/**
 * The pure parts of a host handoff: which cluster router rule sent the packet to the management port (from the steps
 * ovn-trace printed, as OVN 23.03 prints them), and the host's route from `ip -j route get` (as iproute2 prints it).
 */

const stage = (
  datapath: string,
  table: number,
  name: string,
  priority: number,
  match: string,
  actions: string[],
): Step => ({
  kind: "logical-stage",
  datapath,
  pipeline: "ingress",
  table,
  stage: name,
  priority,
  match,
  actions,
  source: { line: 1, text: "" },
});

const hop = (steps: Step[]): Hop => ({
  tool: "ovn-trace",
  node: "n",
  startsIn: "n",
  command: [],
  steps,
  outcome: { kind: "output", port: "k8s-n" },
  output: "",
});

const srcRoute = stage("ovn_cluster_router", 13, "lr_in_ip_routing", 72, "ip4.src == 10.244.1.0/24", [
  "ip.ttl--;",
  "reg8[0..15] = 0;",
  "reg0 = 10.244.1.2;",
  "reg1 = 10.244.1.1;",
  "eth.src = 0a:58:0a:f4:01:01;",
  'outport = "rtos-n";',
  "flags.loopback = 1;",
  "next;",
]);
const noPolicy = stage("ovn_cluster_router", 15, "lr_in_policy", 0, "1", ["reg8[0..15] = 0;", "next;"]);
const nodeIpPolicy = stage(
  "ovn_cluster_router",
  15,
  "lr_in_policy",
  1004,
  'inport == "rtos-n" && ip4.dst == 172.18.0.3',
  [
    "reg0 = 10.244.1.2;",
    "reg1 = 10.244.1.1;",
    "eth.src = 0a:58:0a:f4:01:01;",
    'outport = "rtos-n";',
    "next;",
  ],
);
const v6Route = stage("ovn_cluster_router", 13, "lr_in_ip_routing", 194, "ip6.src == fd00:10:244:1::/64", [
  "ip.ttl--;",
  "xxreg0 = fd00:10:244:1::2;",
  "next;",
]);

describe("handoffRule", () => {
  it("names the node subnet's source route when no policy rerouted", () => {
    expect(handoffRule(hop([srcRoute, noPolicy]))).toBe(
      "ovn_cluster_router static route 10.244.1.0/24 (policy src-ip) via 10.244.1.2",
    );
    expect(handoffRule(hop([v6Route]))).toBe(
      "ovn_cluster_router static route fd00:10:244:1::/64 (policy src-ip) via fd00:10:244:1::2",
    );
  });

  it("names the reroute policy when one overrode the route", () => {
    expect(handoffRule(hop([srcRoute, nodeIpPolicy]))).toBe(
      'ovn_cluster_router policy 1004 [inport == "rtos-n" && ip4.dst == 172.18.0.3] reroute 10.244.1.2',
    );
  });

  it("names nothing when no router step chose a next hop", () => {
    expect(handoffRule(hop([noPolicy]))).toBeUndefined();
    expect(handoffRule(undefined)).toBeUndefined();
  });
});

describe("parseRouteGet", () => {
  const cmd = "ip -j route get 198.51.100.7 from 10.244.1.3 iif ovn-k8s-mp0";
  it("reads a unicast route through a gateway", () => {
    const out =
      '[{"dst":"198.51.100.7","from":"10.244.1.3","gateway":"172.18.0.1","dev":"breth0","flags":[],"cache":[],"iif":"ovn-k8s-mp0"}]\n';
    expect(parseRouteGet(cmd, out)).toEqual({ command: cmd, dev: "breth0", gateway: "172.18.0.1" });
  });

  it("reads a local destination", () => {
    const out =
      '[{"type":"local","dst":"172.18.0.3","from":"10.244.1.3","dev":"lo","flags":[],"cache":["local"],"iif":"ovn-k8s-mp0"}]\n';
    expect(parseRouteGet(cmd, out)).toEqual({ command: cmd, type: "local", dev: "lo" });
  });

  it("gives undefined for what is not a route", () => {
    expect(parseRouteGet(cmd, "RTNETLINK answers: Network is unreachable")).toBeUndefined();
    expect(parseRouteGet(cmd, "[]")).toBeUndefined();
    expect(parseRouteGet(cmd, '[{"dst":"x"}]')).toBeUndefined();
  });
});
