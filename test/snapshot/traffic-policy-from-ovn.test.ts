import { describe, expect, it } from "vitest";
import { trafficPoliciesOf, type LoadBalancerVip } from "../../src/snapshot/traffic-policy-from-ovn.js";

/** Load balancer VIPs as ovnkube-controller writes them for one Service (lb_config.go), node ovn-worker. */
const vip = (lb: string, host: string, port: number, backends: string[], node = false): LoadBalancerVip => ({
  lb: `Service_ns/web_TCP_${lb}`,
  host,
  port,
  backends: backends.map((b) => ({ ip: b.split(":")[0] ?? "", port: Number(b.split(":")[1]) })),
  node,
});

describe("a Service's traffic policies from its load balancers", () => {
  it("Cluster: a _cluster load balancer and a node_router+switch NodePort", () => {
    expect(
      trafficPoliciesOf([
        vip("cluster", "10.96.0.50", 80, ["10.244.1.5:8080", "10.244.2.5:8080"]),
        vip(
          "node_router+switch_ovn-worker",
          "172.18.0.3",
          30080,
          ["10.244.1.5:8080", "10.244.2.5:8080"],
          true,
        ),
      ]),
    ).toEqual({});
  });

  it("externalTrafficPolicy=Local: the masquerade VIP on the node switch, even without a local endpoint", () => {
    expect(
      trafficPoliciesOf([
        vip("cluster", "10.96.0.50", 80, ["10.244.2.5:8080"]),
        vip("node_router_ovn-worker", "172.18.0.3", 30080, [], true),
        vip("node_switch_ovn-worker", "169.254.169.3", 30080, [], true),
        vip("node_switch_ovn-worker", "172.18.0.3", 30080, ["10.244.2.5:8080"], true),
      ]),
    ).toEqual({ externalTrafficPolicy: "Local" });
  });

  it("internalTrafficPolicy=Local: the node switch has fewer backends for the cluster IP than the router", () => {
    expect(
      trafficPoliciesOf([
        vip("node_router_ovn-control-plane_merged", "10.96.0.50", 80, ["10.244.1.5:8080", "10.244.2.5:8080"]),
        vip("node_switch_ovn-worker", "10.96.0.50", 80, ["10.244.1.5:8080"]),
      ]),
    ).toEqual({ internalTrafficPolicy: "Local" });
  });

  it("host-network endpoints (Cluster): the router has the host masquerade address instead of the node's own", () => {
    expect(
      trafficPoliciesOf([
        vip("node_router_ovn-worker", "10.96.0.50", 80, ["169.254.169.2:8080", "172.18.0.4:8080"]),
        vip("node_switch_ovn-worker", "10.96.0.50", 80, ["172.18.0.3:8080", "172.18.0.4:8080"]),
      ]),
    ).toEqual({});
  });
});
