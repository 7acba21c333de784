import { describe, expect, it } from "vitest";
import { recordHostRoutes, routeGet, type RecordedHostRoutes } from "../../src/snapshot/host-routes.js";

/**
 * `ip route get` answered from a node's recorded routes, against what the kernel answered for the same table
 * (the outputs below are iproute2's, from a namespace set up as a lab node: ovn-k8s-mp0 10.244.1.2/24 with the
 * cluster network via .1, breth0 172.18.0.3/16 with the default route via 172.18.0.1).
 */

const ROUTES4 = JSON.stringify([
  { dst: "default", gateway: "172.18.0.1", dev: "breth0", flags: [] },
  { dst: "10.244.0.0/16", gateway: "10.244.1.1", dev: "ovn-k8s-mp0", flags: [] },
  { dst: "10.244.1.0/24", dev: "ovn-k8s-mp0", protocol: "kernel", scope: "link", prefsrc: "10.244.1.2" },
  { dst: "172.18.0.0/16", dev: "breth0", protocol: "kernel", scope: "link", prefsrc: "172.18.0.3" },
  { type: "local", dst: "10.244.1.2", dev: "ovn-k8s-mp0", table: "local", scope: "host" },
  { type: "local", dst: "172.18.0.3", dev: "breth0", table: "local", scope: "host" },
  { type: "broadcast", dst: "172.18.255.255", dev: "breth0", table: "local", scope: "link" },
  { type: "local", dst: "127.0.0.0/8", dev: "lo", table: "local", scope: "host" },
]);
const RULES4 = JSON.stringify([
  { priority: 0, src: "all", table: "local" },
  { priority: 32766, src: "all", table: "main" },
  { priority: 32767, src: "all", table: "default" },
]);
const ROUTES6 = JSON.stringify([
  { dst: "fd00:10:244:1::/64", dev: "ovn-k8s-mp0", metric: 256 },
  { dst: "default", gateway: "fc00::1", dev: "breth0", metric: 1024 },
  { type: "local", dst: "fc00::3", dev: "breth0", table: "local", metric: 0 },
  { type: "multicast", dst: "ff00::/8", dev: "breth0", table: "local", metric: 256 },
]);
const RULES6 = JSON.stringify([
  { priority: 0, src: "all", table: "local" },
  { priority: 32766, src: "all", table: "main" },
]);

const recorded = (rules4 = RULES4): RecordedHostRoutes =>
  JSON.parse(
    recordHostRoutes({ ipv4: { routes: ROUTES4, rules: rules4 }, ipv6: { routes: ROUTES6, rules: RULES6 } }),
  ) as RecordedHostRoutes;

const answer = (r: RecordedHostRoutes, dst: string, src: string): unknown => {
  const a = routeGet(r, dst, src, "ovn-k8s-mp0");
  return a.ok ? JSON.parse(a.json) : a.error;
};

describe("routeGet from recorded routes", () => {
  it("answers as the kernel did: a forwarded packet through the default route, one on-link, one to the host", () => {
    const r = recorded();
    expect(answer(r, "198.51.100.7", "10.244.1.3")).toEqual([
      { dst: "198.51.100.7", from: "10.244.1.3", gateway: "172.18.0.1", dev: "breth0", iif: "ovn-k8s-mp0" },
    ]);
    expect(answer(r, "172.18.0.4", "10.244.1.3")).toEqual([
      { dst: "172.18.0.4", from: "10.244.1.3", dev: "breth0", iif: "ovn-k8s-mp0" },
    ]);
    expect(answer(r, "172.18.0.3", "10.244.1.3")).toEqual([
      { type: "local", dst: "172.18.0.3", from: "10.244.1.3", dev: "lo", iif: "ovn-k8s-mp0" },
    ]);
    expect(answer(r, "10.244.2.5", "10.244.1.3")).toEqual([
      {
        dst: "10.244.2.5",
        from: "10.244.1.3",
        gateway: "10.244.1.1",
        dev: "ovn-k8s-mp0",
        iif: "ovn-k8s-mp0",
      },
    ]);
  });

  it("keeps the families apart: an IPv6 destination takes the IPv6 default route", () => {
    expect(answer(recorded(), "2001:db8::7", "fd00:10:244:1::3")).toEqual([
      { dst: "2001:db8::7", from: "fd00:10:244:1::3", gateway: "fc00::1", dev: "breth0", iif: "ovn-k8s-mp0" },
    ]);
    expect(answer(recorded(), "fc00::3", "fd00:10:244:1::3")).toMatchObject([{ type: "local", dev: "lo" }]);
  });

  it("says what it cannot decide: policy rules of the node's own, a family not recorded", () => {
    const withRule = JSON.stringify([
      { priority: 0, src: "all", table: "local" },
      { priority: 100, src: "10.244.1.0/24", table: "1003" },
      { priority: 32766, src: "all", table: "main" },
      { priority: 32767, src: "all", table: "default" },
    ]);
    expect(answer(recorded(withRule), "198.51.100.7", "10.244.1.3")).toMatch(/policy routing rules/);
    const v4only = JSON.parse(
      recordHostRoutes({ ipv4: { routes: ROUTES4, rules: RULES4 }, ipv6: {} }),
    ) as RecordedHostRoutes;
    expect(answer(v4only, "2001:db8::7", "fd00:10:244:1::3")).toMatch(/no IPv6 routes/);
  });
});
