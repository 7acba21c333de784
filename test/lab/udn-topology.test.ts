import { scenarioProblems } from "../helpers/scenario.js";
import { describe, expect, it } from "vitest";
import { resolveScenario } from "../../src/lab/cluster.js";
import { parseScenario } from "../../src/lab/load-scenario.js";
import { layer2SwitchName, layer3Names } from "../../src/lab/udn-topology.js";
import { nadOf } from "../../src/udn-names.js";

const scenario = (networks: string, pods = ""): string => `
name: t
nodes:
  - name: ovn-control-plane
  - name: ovn-worker
pods:
  - { namespace: default, name: c, node: ovn-worker, ips: [10.244.1.3] }
  - { namespace: blue, name: a, node: ovn-worker, ips: [10.244.1.4] }
  - { namespace: blue, name: b, node: ovn-worker, ips: [10.244.1.5] }
  - { namespace: blue, name: h, node: ovn-worker, hostNetwork: true }
${pods}
userDefinedNetworks:
${networks}
`;

const problems = (yaml: string): string => scenarioProblems(yaml);

describe("primary user-defined network topologies in scenarios", () => {
  it("names objects as ovn-kubernetes scopes them (the anchors' example: network blue-net)", () => {
    const n = layer3Names("blue-net");
    expect(n.nodeSwitch("ovn-worker")).toBe("blue.net_ovn-worker");
    expect(n.clusterRouter).toBe("blue.net_ovn_cluster_router");
    expect(n.routerToSwitch("ovn-worker")).toBe("rtos-blue.net_ovn-worker");
    expect(n.transitToRouter("ovn-worker")).toBe("blue.net_tstor-ovn-worker");
    expect(layer2SwitchName("ns1_l2")).toBe("ns1_l2_ovn_layer2_switch");
    expect(nadOf("cluster_udn_red", "ns9")).toBe("ns9/red");
    expect(nadOf("ns1_blue", "ns1")).toBe("ns1/blue");
    expect(nadOf("ns1_blue", "ns2")).toBeUndefined();
  });

  it("gives a layer3 network's pods the addresses after its node subnet's gateway and management port", () => {
    const c = resolveScenario(
      parseScenario(
        scenario(
          `  - { name: blue_net, id: 1, namespaces: [blue], topology: { kind: layer3, subnets: [10.128.0.0/16] } }`,
        ),
        "t.yaml",
      ),
    );
    const pod = (name: string) => c.pods.find((p) => p.name === name);
    // the second node's /24, .1 the gateway, .2 the management port
    expect(pod("a")?.primaryNetwork?.ips[4]).toBe("10.128.1.3");
    expect(pod("b")?.primaryNetwork?.ips[4]).toBe("10.128.1.4");
    expect(pod("a")?.primaryNetwork?.lsp).toBe("blue.net_blue_a");
    expect(pod("c")?.primaryNetwork).toBeUndefined();
    expect(pod("h")?.primaryNetwork).toBeUndefined();
  });

  it("numbers a layer2 network's pods across the nodes, with tunnel keys from 1", () => {
    const c = resolveScenario(
      parseScenario(
        scenario(
          `  - { name: cluster_udn_g, id: 2, namespaces: [blue], topology: { kind: layer2, subnets: [10.150.0.0/16] } }`,
          `  - { namespace: blue, name: d, node: ovn-control-plane, ips: [10.244.0.4] }`,
        ),
        "t.yaml",
      ),
    );
    const nets = ["a", "b", "d"].map((n) => c.pods.find((p) => p.name === n)?.primaryNetwork);
    expect(nets.map((n) => n?.ips[4])).toEqual(["10.150.0.3", "10.150.0.4", "10.150.0.5"]);
    expect(nets.map((n) => n?.tunnelId)).toEqual([1, 2, 3]);
    expect(nets[0]?.nad).toBe("blue/g");
  });

  it("rejects what ovn-kubernetes would not build, naming the field", () => {
    expect(
      problems(
        scenario(
          `  - { name: blue_x, id: 1, namespaces: [other], topology: { kind: layer3, subnets: [10.1.0.0/16] } }`,
        ),
      ),
    ).toMatch(/userDefinedNetworks\[0\]\.namespaces\[0\]: .*its own namespace/);
    expect(
      problems(
        scenario(
          `  - { name: blue_x, id: 1, namespaces: [blue], topology: { kind: layer3, subnets: [10.1.0.0] } }`,
        ),
      ),
    ).toMatch(/userDefinedNetworks\[0\]\.topology\.subnets\[0\]: "10\.1\.0\.0" is not a CIDR/);
    expect(
      problems(
        scenario(
          `  - { name: blue_x, id: 1, namespaces: [blue], topology: { kind: layer3, subnets: [10.1.0.0/24], hostSubnet: 24 } }`,
        ),
      ),
    ).toMatch(
      /userDefinedNetworks\[0\]\.topology\.hostSubnet: 10\.1\.0\.0\/24 has no \/24 subnet for each of the 2 nodes/,
    );
    expect(
      problems(
        scenario(
          `  - { name: blue_x, id: 1, namespaces: [blue], topology: { kind: layer2, subnets: [10.1.0.0/16], hostSubnet: 24 } }`,
        ),
      ),
    ).toMatch(/userDefinedNetworks\[0\]\.topology\.hostSubnet: a layer2 network has no per-node subnets/);
  });
});
