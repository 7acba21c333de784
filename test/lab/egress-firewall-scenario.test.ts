import { scenarioProblems } from "../helpers/scenario.js";
import { describe, expect, it } from "vitest";
import { resolveScenario } from "../../src/lab/cluster.js";
import { parseScenario } from "../../src/lab/load-scenario.js";

/** The scenario language of EgressFirewalls: what it accepts, and each mistake named by its field. */

const base = `
name: t
nodes: [{ name: a }]
pods: [{ namespace: shop, name: p, node: a, ips: [10.244.0.3] }]
`;

const withFirewalls = (efs: string, records = ""): string =>
  `${base}egressFirewalls:\n${efs}${records === "" ? "" : `dnsRecords:\n${records}`}`;

const problems = (yaml: string): string => scenarioProblems(yaml);

describe("EgressFirewalls in a scenario", () => {
  it("accepts CIDR and DNS rules with ports, and gives their namespace to the cluster", () => {
    const c = resolveScenario(
      parseScenario(
        withFirewalls(
          `  - namespace: other
    egress:
      - { type: Allow, to: { cidrSelector: 192.0.2.0/24 }, ports: [{ protocol: TCP, port: 443 }, { protocol: UDP }] }
      - { type: Deny, to: { dnsName: www.example.com } }
`,
          '  - { name: www.example.com, addresses: [192.0.2.1, "2001:db8::1"] }\n',
        ),
        "t.yaml",
      ),
    );
    expect(c.egressFirewalls.map((ef) => `${ef.namespace} ${String(ef.egress.length)}`)).toEqual(["other 2"]);
    expect(c.dnsRecords.map((r) => r.name)).toEqual(["www.example.com"]);
    expect(c.namespaces.map((n) => n.name)).toContain("other");
  });

  it("refuses a rule with both or neither destination, an unknown type or protocol, and a port out of range", () => {
    const m = problems(
      withFirewalls(`  - namespace: shop
    egress:
      - { type: Allow, to: { cidrSelector: 192.0.2.0/24, dnsName: x.example } }
      - { type: Allow, to: {} }
      - { type: Permit, to: { cidrSelector: 192.0.2.0/24 } }
      - { type: Deny, to: { cidrSelector: 192.0.2.0/24 }, ports: [{ protocol: ICMP }] }
      - { type: Deny, to: { cidrSelector: 192.0.2.0/24 }, ports: [{ protocol: TCP, port: 70000 }] }
`),
    );
    expect(m).toMatch(/egressFirewalls\[0\]\.egress\[0\]\.to/);
    expect(m).toMatch(/egressFirewalls\[0\]\.egress\[1\]\.to/);
    expect(m).toMatch(/egressFirewalls\[0\]\.egress\[2\]\.type: must be one of "Allow", "Deny"/);
    expect(m).toMatch(/egressFirewalls\[0\]\.egress\[3\]\.ports\[0\]\.protocol/);
    expect(m).toMatch(/egressFirewalls\[0\]\.egress\[4\]\.ports\[0\]\.port/);
  });

  it("refuses a second EgressFirewall in a namespace, a bad CIDR or DNS name, and bad DNS records", () => {
    const m = problems(
      withFirewalls(
        `  - namespace: shop
    egress: [{ type: Allow, to: { cidrSelector: 192.0.2.0/33 } }]
  - namespace: shop
    egress: [{ type: Allow, to: { dnsName: "*.example.com" } }]
`,
        `  - { name: a.example, addresses: [192.0.2.1] }
  - { name: a.example, addresses: [not-an-ip] }
`,
      ),
    );
    expect(m).toMatch(/egressFirewalls\[1\]\.namespace: namespace "shop" has an EgressFirewall already/);
    expect(m).toMatch(
      /egressFirewalls\[0\]\.egress\[0\]\.to\.cidrSelector: "192\.0\.2\.0\/33" is not a CIDR/,
    );
    expect(m).toMatch(/egressFirewalls\[1\]\.egress\[0\]\.to\.dnsName: "\*\.example\.com" is not a DNS name/);
    expect(m).toMatch(/dnsRecords\[1\]\.name: "a\.example" is listed already/);
    expect(m).toMatch(/dnsRecords\[1\]\.addresses\[0\]: "not-an-ip" is not an IP address/);
  });
});
