import { describe, expect, it } from "vitest";
import { resolveScenario } from "../../src/lab/cluster.js";
import type { Scenario, ServiceSpec } from "../../src/lab/scenario.js";
import { serviceLoadBalancers, type ServiceLoadBalancer } from "../../src/lab/service-load-balancers.js";

/**
 * The load balancers of one Service, against what pkg/ovn/controller/services/lb_config.go (buildServiceLBConfigs,
 * buildClusterLBs, buildPerNodeLBs, mergeLBs) gives for the same Service and endpoints, worked out by hand: nodes
 * c, a, b (172.18.0.2, .3, .4 in scenario order), web pods on a (10.244.1.5) and b (10.244.2.5), none on c.
 */
function lbsOf(
  svc: Omit<ServiceSpec, "namespace" | "name" | "selector">,
  zone?: string,
): ServiceLoadBalancer[] {
  const scenario: Scenario = {
    name: "t",
    nodes: [{ name: "c" }, { name: "a" }, { name: "b" }],
    pods: [
      { namespace: "ns", name: "web-1", node: "a", ips: ["10.244.1.5"], labels: { app: "web" } },
      { namespace: "ns", name: "web-2", node: "b", ips: ["10.244.2.5"], labels: { app: "web" } },
    ],
    services: [{ namespace: "ns", name: "web", selector: { app: "web" }, ...svc }],
  };
  const c = resolveScenario(scenario, "central");
  const s = c.services[0];
  if (s === undefined) throw new Error("no service");
  return serviceLoadBalancers(
    c,
    s,
    c.nodes.filter((n) => zone === undefined || n.name === zone),
  );
}

const both = "10.244.1.5:8080,10.244.2.5:8080";
const rules = (lb: ServiceLoadBalancer | undefined) =>
  Object.fromEntries((lb?.rules ?? []).map((r) => [r.vip, r.backends.join(",")]));
const byName = (lbs: readonly ServiceLoadBalancer[], name: string) =>
  lbs.find((l) => l.name === `Service_ns/web_TCP_${name}`);

describe("a Service's load balancers, as ovnkube-controller writes them", () => {
  it("a plain ClusterIP: one _cluster load balancer in clusterLBGroup", () => {
    const lbs = lbsOf({ clusterIPs: ["10.96.0.50"], ports: [{ port: 80, targetPort: 8080 }] });
    expect(lbs.map((l) => l.name)).toEqual(["Service_ns/web_TCP_cluster"]);
    expect(lbs[0]).toMatchObject({ clusterGroup: true, skipSnat: false, switches: [], routers: [] });
    expect(rules(lbs[0])).toEqual({ "10.96.0.50:80": both });
  });

  it("a NodePort (policies Cluster): the same rules on router and switch, one node_router+switch per node", () => {
    const lbs = lbsOf({
      type: "NodePort",
      clusterIPs: ["10.96.0.50"],
      ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }],
    });
    expect(lbs.map((l) => l.name)).toEqual([
      "Service_ns/web_TCP_cluster",
      // the node tracker's nodes sorted by name
      "Service_ns/web_TCP_node_router+switch_a",
      "Service_ns/web_TCP_node_router+switch_b",
      "Service_ns/web_TCP_node_router+switch_c",
    ]);
    expect(byName(lbs, "node_router+switch_c")).toMatchObject({ switches: ["c"], routers: ["GR_c"] });
    expect(rules(byName(lbs, "node_router+switch_c"))).toEqual({ "172.18.0.2:30080": both });
  });

  it("externalTrafficPolicy=Local: the router gets the node's endpoints without SNAT, or an empty VIP; the switch every endpoint and the masquerade VIP", () => {
    const lbs = lbsOf({
      type: "NodePort",
      externalTrafficPolicy: "Local",
      clusterIPs: ["10.96.0.50"],
      ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }],
    });
    expect(lbs.map((l) => l.name)).toEqual([
      "Service_ns/web_TCP_cluster",
      "Service_ns/web_TCP_node_local_router_a",
      "Service_ns/web_TCP_node_switch_a",
      "Service_ns/web_TCP_node_local_router_b",
      "Service_ns/web_TCP_node_switch_b",
      "Service_ns/web_TCP_node_router_c",
      "Service_ns/web_TCP_node_switch_c",
    ]);
    expect(byName(lbs, "node_local_router_a")).toMatchObject({
      skipSnat: true,
      routers: ["GR_a"],
      switches: [],
    });
    expect(rules(byName(lbs, "node_local_router_a"))).toEqual({ "172.18.0.3:30080": "10.244.1.5:8080" });
    expect(rules(byName(lbs, "node_switch_a"))).toEqual({
      "169.254.169.3:30080": "10.244.1.5:8080",
      "172.18.0.3:30080": both,
    });
    expect(byName(lbs, "node_router_c")).toMatchObject({ skipSnat: false, routers: ["GR_c"] });
    expect(rules(byName(lbs, "node_router_c"))).toEqual({ "172.18.0.2:30080": "" });
    expect(rules(byName(lbs, "node_switch_c"))).toEqual({
      "169.254.169.3:30080": "",
      "172.18.0.2:30080": both,
    });
  });

  it("internalTrafficPolicy=Local: no _cluster load balancer; the switches get the node's endpoints, the routers all of them (one merged load balancer)", () => {
    const lbs = lbsOf({
      internalTrafficPolicy: "Local",
      clusterIPs: ["10.96.0.50"],
      ports: [{ port: 80, targetPort: 8080 }],
    });
    expect(lbs.map((l) => l.name)).toEqual([
      "Service_ns/web_TCP_node_router_a_merged",
      "Service_ns/web_TCP_node_switch_a",
      "Service_ns/web_TCP_node_switch_b",
      "Service_ns/web_TCP_node_switch_c",
    ]);
    expect(byName(lbs, "node_router_a_merged")).toMatchObject({
      routers: ["GR_a", "GR_b", "GR_c"],
      switches: [],
    });
    expect(rules(byName(lbs, "node_router_a_merged"))).toEqual({ "10.96.0.50:80": both });
    expect(rules(byName(lbs, "node_switch_b"))).toEqual({ "10.96.0.50:80": "10.244.2.5:8080" });
    expect(rules(byName(lbs, "node_switch_c"))).toEqual({ "10.96.0.50:80": "" });
  });

  it("in one node's zone (interconnect) nothing merges", () => {
    const lbs = lbsOf(
      { internalTrafficPolicy: "Local", clusterIPs: ["10.96.0.50"], ports: [{ port: 80, targetPort: 8080 }] },
      "c",
    );
    expect(lbs.map((l) => l.name)).toEqual([
      "Service_ns/web_TCP_node_router_c",
      "Service_ns/web_TCP_node_switch_c",
    ]);
  });

  it("an external traffic policy on a ClusterIP Service is refused, naming the field", () => {
    expect(() =>
      lbsOf({ externalTrafficPolicy: "Local", clusterIPs: ["10.96.0.50"], ports: [{ port: 80 }] }),
    ).toThrow(/services\[0\]\.externalTrafficPolicy: only a NodePort service has an external traffic policy/);
  });
});
