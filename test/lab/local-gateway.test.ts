import { scenarioProblems } from "../helpers/scenario.js";
import { describe, expect, it } from "vitest";
import { resolveScenario } from "../../src/lab/cluster.js";
import { hostNetworkBatch } from "../../src/lab/host-network.js";
import { parseScenario } from "../../src/lab/load-scenario.js";

/** The scenario's gateway mode, and the host network a lab node gets (as ovnkube-node's management port sync). */

const scenario = (extra: string): string => `
name: t
${extra}
nodes:
  - name: a
  - name: b
    ipv6: "fc00::3"
clusterNetwork: { ipv4: 10.244.0.0/16, ipv6: "fd00:10:244::/48" }
underlay: { gatewayV6: "fc00::1" }
pods:
  - { namespace: default, name: p1, node: a, ips: [10.244.0.3, "fd00:10:244::3"] }
`;

const nodePort = `
services:
  - namespace: default
    name: np
    type: NodePort
    clusterIPs: [10.96.0.20]
    ports: [{ port: 80, nodePort: 30080 }]
`;

const rejected = (yaml: string): string => scenarioProblems(yaml);

describe("gatewayMode in a scenario", () => {
  it("is shared unless the scenario says local", () => {
    expect(resolveScenario(parseScenario(scenario(""), "t.yaml")).gatewayMode).toBe("shared");
    expect(resolveScenario(parseScenario(scenario("gatewayMode: local"), "t.yaml")).gatewayMode).toBe(
      "local",
    );
  });

  it("rejects a mode ovn-kubernetes does not have, naming the field", () => {
    expect(() => parseScenario(scenario("gatewayMode: hybrid"), "t.yaml")).toThrow(/gatewayMode/);
  });

  it("refuses a NodePort service in local gateway mode (its host side is not modelled), not in shared mode", () => {
    expect(rejected(scenario(`gatewayMode: local\n${nodePort}`))).toMatch(
      /services\[0\]\.type: NodePort is not modelled in local gateway mode/,
    );
    expect(resolveScenario(parseScenario(scenario(nodePort), "t.yaml")).services[0]?.type).toBe("NodePort");
  });
});

describe("a lab node's host network", () => {
  it("has ovnkube-node's management port addresses and routes, and the uplink with the node IP and default routes", () => {
    const c = resolveScenario(parseScenario(scenario("gatewayMode: local"), "t.yaml"));
    const b = c.nodes[1];
    if (b === undefined) throw new Error("no node b");
    // node b: the second /24 and /64; the management port is .2 / ::2, the node switch's router port .1 / ::1
    expect(hostNetworkBatch(c, b)).toEqual([
      "addr add 10.244.1.2/24 dev ovn-k8s-mp0",
      "route add 10.244.0.0/16 via 10.244.1.1 dev ovn-k8s-mp0",
      "route add 169.254.169.3/32 via 10.244.1.1 dev ovn-k8s-mp0",
      "neigh add 10.244.1.1 lladdr 0a:58:0a:f4:01:01 dev ovn-k8s-mp0 nud permanent",
      "addr add fd00:10:244:1::2/64 dev ovn-k8s-mp0 nodad",
      "route add fd00:10:244::/48 via fd00:10:244:1::1 dev ovn-k8s-mp0",
      "route add fd69::3/128 via fd00:10:244:1::1 dev ovn-k8s-mp0",
      "neigh add fd00:10:244:1::1 lladdr 0a:58:0a:f4:01:01 dev ovn-k8s-mp0 nud permanent",
      "addr add 172.18.0.3/16 dev breth0",
      "route add 0.0.0.0/0 via 172.18.0.1 dev breth0",
      "addr add fc00::3/64 dev breth0 nodad",
      "route add ::/0 via fc00::1 dev breth0",
    ]);
  });
});
