import { describe, expect, it } from "vitest";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { HOST_CT_ZONE, sharedGatewayFlows } from "../../src/lab/gateway-flows.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";

/** ovnkube-node's breth0 flows as the lab writes them (the real packets of fidelity-external.test.ts use them). */
describe("the shared gateway bridge's flows", () => {
  const zone = String(HOST_CT_ZONE);

  it("nodes without IPv6 addresses: IPv4 only (a NodePort to OVN, the rest through conntrack zone 64000)", () => {
    const flows = sharedGatewayFlows(loadScenarioFile(`${EXAMPLES_DIR}kind-dualstack.yaml`), "eth0", 2);
    expect(flows).toContain("priority=100,in_port=eth0,tcp,tp_dst=30080,actions=output:2");
    expect(flows).toContain(`priority=50,in_port=eth0,ip,actions=ct(zone=${zone},table=1)`);
    expect(flows.filter((f) => /ipv6|tcp6|icmp6/.test(f))).toEqual([]);
    expect(flows.at(-1)).toBe("table=1,priority=0,actions=output:LOCAL");
  });

  it("nodes with IPv6 addresses: the same for IPv6 (tcp6 NodePorts, ipv6 conntrack), and neighbour discovery let through", () => {
    const flows = sharedGatewayFlows(loadScenarioFile(`${EXAMPLES_DIR}acme-prod.yaml`), "eth0", 2);
    for (const f of [
      "priority=100,in_port=eth0,tcp,tp_dst=31380,actions=output:2",
      "priority=100,in_port=eth0,tcp6,tp_dst=31380,actions=output:2",
      `priority=100,in_port=2,ipv6,actions=ct(commit,zone=${zone}),output:eth0`,
      `priority=50,in_port=eth0,ipv6,actions=ct(zone=${zone},table=1)`,
      "table=1,priority=100,ct_state=+trk+est,ipv6,actions=output:2",
      "table=1,priority=100,ct_state=+trk+rel,ipv6,actions=output:2",
      "table=1,priority=14,icmp6,icmp_type=136,actions=FLOOD",
      "table=1,priority=10,ipv6,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=NORMAL",
    ])
      expect(flows).toContain(f);
    expect(flows.at(-1)).toBe("table=1,priority=0,actions=output:LOCAL");
  });
});
