import { readdirSync, readFileSync } from "node:fs";
import { scenarioProblems } from "../helpers/scenario.js";
import { describe, expect, it } from "vitest";
import { resolveScenario } from "../../src/lab/cluster.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { parseScenario } from "../../src/lab/load-scenario.js";

const base = `
name: t
nodes:
  - name: a
  - name: b
pods:
  - { namespace: default, name: p1, node: a, ips: [10.244.0.3] }
  - { namespace: default, name: p2, node: b, ips: [10.244.1.3] }
`;

const problems = (yaml: string): string => scenarioProblems(yaml, "test.yaml");

describe("scenario files", () => {
  it("accepts every shipped example, in both shapes", () => {
    const files = readdirSync(EXAMPLES_DIR).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const s = parseScenario(readFileSync(`${EXAMPLES_DIR}${f}`, "utf8"), f);
      for (const shape of ["central", "interconnect"] as const) {
        expect(resolveScenario(s, shape).nodes.length).toBe(s.nodes.length);
      }
    }
  });

  it("rejects an unknown field, naming it", () => {
    expect(problems(base.replace("name: p1,", "name: p1, nodee: a,"))).toMatch(
      /pods\[0\]\.nodee: unknown field/,
    );
    expect(problems(`${base}colour: blue\n`)).toMatch(/colour: unknown field/);
  });

  it("rejects a pod on an unknown node, naming the field and the known nodes", () => {
    expect(problems(base.replace("node: b,", "node: c,"))).toMatch(
      /pods\[1\]\.node: unknown node "c" \(nodes: a, b\)/,
    );
  });

  it("rejects a duplicate IP", () => {
    const m = problems(`${base}  - { namespace: other, name: p3, node: a, ips: [10.244.0.3] }\n`);
    expect(m).toMatch(/pods\[2\]\.ips\[0\]: duplicate IP 10\.244\.0\.3 \(also pod default\/p1\)/);
  });

  it("rejects a pod outside its node's subnet, and reserved addresses", () => {
    expect(problems(base.replace("ips: [10.244.1.3]", "ips: [10.244.0.9]"))).toMatch(
      /pods\[1\]\.ips\[0\]: 10\.244\.0\.9 is outside node b's subnet 10\.244\.1\.0\/24/,
    );
    expect(problems(base.replace("ips: [10.244.1.3]", "ips: [10.244.1.1]"))).toMatch(
      /pods\[1\]\.ips\[0\]: .*reserved/,
    );
  });

  it("rejects a missing required field and a wrong type", () => {
    expect(problems(base.replace("  - name: b\n", "  - ip: 172.18.0.9\n"))).toMatch(
      /nodes\[1\]\.name: required field is missing/,
    );
    expect(problems(base.replace("name: t", "name: t\nshape: mesh"))).toMatch(
      /shape: must be one of "central", "interconnect"/,
    );
  });

  it("reports every problem at once", () => {
    const m = problems(
      base.replace("node: b,", "node: c,").replace("ips: [10.244.0.3]", "ips: [10.244.0.300]"),
    );
    expect(m).toMatch(/pods\[0\]\.ips\[0\]/);
    expect(m).toMatch(/pods\[1\]\.node/);
  });

  it("rejects text that is not YAML", () => {
    expect(() => parseScenario("nodes: [", "bad.yaml")).toThrow(/bad\.yaml: not valid YAML or JSON/);
  });

  it("honours subnets given out of node order and derives gateway and management addresses from them", () => {
    const c = resolveScenario(
      parseScenario(
        `
name: t
clusterNetwork: { ipv4: 10.128.0.0/14, ipv6: "fd01::/48" }
nodes:
  - { name: zeta, subnets: { ipv4: 10.130.4.0/23, ipv6: "fd01:0:0:9::/64" } }
  - { name: alpha, subnets: { ipv4: 10.128.0.0/23, ipv6: "fd01:0:0:2::/64" } }
pods:
  - { namespace: x, name: p, node: zeta, ips: [10.130.5.200, "fd01:0:0:9::c8"] }
`,
        "t",
      ),
    );
    const zeta = c.nodes.find((n) => n.name === "zeta");
    expect(zeta?.subnets).toEqual({ 4: "10.130.4.0/23", 6: "fd01:0:0:9::/64" });
    expect(zeta?.gatewayCidrs).toEqual({ 4: "10.130.4.1/23", 6: "fd01:0:0:9::1/64" });
    expect(zeta?.mgmtIps).toEqual({ 4: "10.130.4.2", 6: "fd01:0:0:9::2" });
    expect(zeta?.gatewayMac).toBe("0a:58:0a:82:04:01");
    expect(c.pods[0]?.mac).toBe("0a:58:0a:82:05:c8");
    expect(c.pods[0]?.lsp).toBe("x_p");
    expect(c.namespaces.map((n) => n.name)).toEqual(["x"]);
  });

  it("takes service endpoints from the selector; no selector means no endpoints", () => {
    const c = resolveScenario(
      parseScenario(
        `${base.replace("ips: [10.244.1.3] }", "ips: [10.244.1.3], labels: { app: x } }")}services:
  - { namespace: default, name: s, clusterIPs: [10.96.0.5], selector: { app: x }, ports: [{ port: 80, targetPort: 8080 }] }
  - { namespace: default, name: empty, clusterIPs: [10.96.0.6], ports: [{ port: 80 }] }
`,
        "t",
      ),
    );
    expect(c.services[0]?.endpoints.map((p) => p.name)).toEqual(["p2"]);
    expect(c.services[0]?.ports[0]).toMatchObject({ protocol: "TCP", port: 80, targetPort: 8080 });
    expect(c.services[1]?.endpoints).toEqual([]);
  });
});
