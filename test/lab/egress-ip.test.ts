import { scenarioProblems } from "../helpers/scenario.js";
import { describe, expect, it } from "vitest";
import { resolveScenario } from "../../src/lab/cluster.js";
import { parseScenario } from "../../src/lab/load-scenario.js";

/** EgressIPs in a scenario: what the lab checks, and how it assigns egress IPs to nodes as cluster-manager would. */

const nodes = `
name: t
nodes:
  - name: a
  - name: b
    labels: { k8s.ovn.org/egress-assignable: "" }
  - name: c
    labels: { k8s.ovn.org/egress-assignable: "" }
namespaces:
  - { name: prod, labels: { env: prod } }
pods:
  - { namespace: prod, name: web-1, node: a, ips: [10.244.0.5], labels: { app: web } }
  - { namespace: prod, name: db-1, node: a, ips: [10.244.0.6], labels: { app: db } }
  - { namespace: default, name: web-2, node: b, ips: [10.244.1.5], labels: { app: web } }
`;

const resolve = (egressIPs: string) =>
  resolveScenario(parseScenario(`${nodes}egressIPs:\n${egressIPs}`, "t.yaml"));

const problems = (egressIPs: string): string => scenarioProblems(`${nodes}egressIPs:\n${egressIPs}`);

describe("EgressIPs in a scenario", () => {
  it("assigns the egress IPs to the labelled nodes in turn, and serves the selected pods only", () => {
    const c = resolve(`
  - { name: e1, egressIPs: [172.18.0.50, 172.18.0.51], namespaceSelector: { matchLabels: { env: prod } }, podSelector: { matchLabels: { app: web } } }
  - { name: e2, egressIPs: [172.18.0.52], namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: default } } }
`);
    expect(
      (c.egressIPs ?? []).map(
        (e) =>
          `${e.name}: ${e.status.map((s) => `${s.egressIP}@${s.node}`).join(" ")} serves ${e.pods.map((p) => p.name).join(" ")}`,
      ),
    ).toEqual(["e1: 172.18.0.50@b 172.18.0.51@c serves web-1", "e2: 172.18.0.52@b serves web-2"]);
  });

  it("takes the egress nodes the scenario names", () => {
    const c = resolve(
      `  - { name: e1, egressIPs: [172.18.0.50], nodes: [c], namespaceSelector: { matchLabels: { env: prod } } }\n`,
    );
    expect(c.egressIPs?.[0]?.status).toEqual([{ node: "c", egressIP: "172.18.0.50" }]);
  });

  it("has none when the scenario declares none", () => {
    expect(resolveScenario(parseScenario(nodes, "t.yaml")).egressIPs).toBeUndefined();
  });

  it("reports every problem at once, each with its field", () => {
    const msg = problems(`
  - { name: e1, egressIPs: [172.18.0.2, 10.9.0.1, "fd00::1"], nodes: [a, b, b], namespaceSelector: { matchLabels: { env: prod } } }
  - { name: e1, egressIPs: [172.18.0.60], nodes: [a, b], namespaceSelector: { matchLabels: { env: prod } } }
`);
    expect(msg).toContain("egressIPs[0].egressIPs[0]: duplicate IP 172.18.0.2 (also node a)");
    expect(msg).toContain("egressIPs[0].egressIPs[1]: 10.9.0.1 is outside the underlay 172.18.0.0/16");
    expect(msg).toContain('egressIPs[0].egressIPs[2]: "fd00::1" is not an IPv4 address');
    expect(msg).toContain('egressIPs[0].nodes[0]: node "a" is not labelled k8s.ovn.org/egress-assignable');
    expect(msg).toContain("egressIPs[0].nodes: a node holds at most one IP of an EgressIP");
    expect(msg).toContain('egressIPs[1].name: duplicate EgressIP "e1"');
    expect(msg).toContain("egressIPs[1].nodes: one node per egress IP");
    expect(msg).toContain("egressIPs[1]: pod prod/web-1 is also served by EgressIP e1");
  });

  it("refuses an EgressIP when no node is labelled egress-assignable", () => {
    const msg = (() => {
      try {
        resolveScenario(
          parseScenario(
            `name: t\nnodes: [{ name: a }]\negressIPs:\n  - { name: e, egressIPs: [172.18.0.50], namespaceSelector: {} }\n`,
            "t.yaml",
          ),
        );
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    })();
    expect(msg).toContain("egressIPs[0].nodes: no node is labelled k8s.ovn.org/egress-assignable");
  });
});
