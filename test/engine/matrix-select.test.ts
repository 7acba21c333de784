import { describe, expect, it } from "vitest";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import type { PodObject, ServiceObject } from "../../src/cluster/kube-objects.js";
import {
  listSelectedPods,
  matrixFamily,
  matrixPods,
  matrixServices,
  parseNamespaces,
  parsePorts,
  parseSelector,
  portLabel,
} from "../../src/engine/matrix-select.js";
import { InputError } from "../../src/errors.js";

/** The matrix's input: --port, namespaces and label selectors, and the pods and Services they choose. */

const pod = (
  namespace: string,
  name: string,
  labels: Record<string, string>,
  extra: { ips?: string[]; node?: string; hostNetwork?: boolean; phase?: string } = {},
): PodObject => ({
  metadata: { namespace, name, labels },
  spec: {
    ...(extra.node === "" ? {} : { nodeName: extra.node ?? "ovn-worker" }),
    ...(extra.hostNetwork === true ? { hostNetwork: true } : {}),
  },
  status: {
    ...(extra.phase === undefined ? { phase: "Running" } : { phase: extra.phase }),
    podIPs: (extra.ips ?? ["10.244.1.5"]).map((ip) => ({ ip })),
  },
});

/** A backend with only the lists the selection reads. */
function fakeBackend(pods: PodObject[], services: ServiceObject[] = []): ClusterBackend {
  const fail = (): never => {
    throw new Error("not in this test");
  };
  return {
    kind: "lab",
    description: "test",
    listPods: (ns) => Promise.resolve(pods.filter((p) => ns === undefined || p.metadata?.namespace === ns)),
    listServices: (ns) =>
      Promise.resolve(services.filter((s) => ns === undefined || s.metadata?.namespace === ns)),
    readPod: fail,
    readNode: fail,
    listNodes: fail,
    readNamespace: fail,
    listNamespaces: fail,
    readService: fail,
    listEndpointSlices: fail,
    listNetworkPolicies: fail,
    execOnNode: fail,
    close: () => Promise.resolve(),
  };
}

describe("--port", () => {
  it("takes comma-separated and repeated PROTOCOL/PORT and icmp, each once, in order", () => {
    expect(parsePorts(["tcp/80,UDP/53", " icmp ", "tcp/80", "tcp/8080,"])).toEqual([
      { protocol: "tcp", port: 80 },
      { protocol: "udp", port: 53 },
      { protocol: "icmp", port: 0 },
      { protocol: "tcp", port: 8080 },
    ]);
    expect(parsePorts(["tcp/1,udp/65535"]).map(portLabel)).toEqual(["tcp/1", "udp/65535"]);
  });

  it.each([
    ["80", /is not PROTOCOL\/PORT/],
    ["sctp/80", /is not PROTOCOL\/PORT/],
    ["tcp", /tcp needs a port from 1 to 65535/],
    ["tcp/0", /from 1 to 65535/],
    ["udp/65536", /from 1 to 65535/],
    ["icmp/8", /icmp takes no port/],
    ["tcp/80/1", /is not PROTOCOL\/PORT/],
    [",", /at least one --port/],
  ])("refuses %s", (text, message) => {
    expect(() => parsePorts([text])).toThrow(InputError);
    expect(() => parsePorts([text])).toThrow(message);
  });
});

describe("namespaces and selectors", () => {
  it("splits namespace lists, each once", () => {
    expect(parseNamespaces(["shop,api", "api", " data "], "--from-namespace")).toEqual([
      "shop",
      "api",
      "data",
    ]);
    expect(parseNamespaces([], "-n")).toEqual([]);
    expect(() => parseNamespaces(["Shop"], "--to-namespace")).toThrow(
      /--to-namespace "Shop" is not a namespace/,
    );
  });

  it("parses label selectors as kubectl's -l, and names the flag of a bad one", () => {
    expect(parseSelector("", "--from-selector")).toEqual([]);
    expect(parseSelector("app=web,tier in (a,b),!canary", "--from-selector")).toEqual([
      { key: "app", operator: "equals", values: ["web"] },
      { key: "tier", operator: "in", values: ["a", "b"] },
      { key: "canary", operator: "doesNotExist", values: [] },
    ]);
    expect(() => parseSelector("app in (", "--to-selector")).toThrow(InputError);
    expect(() => parseSelector("app in (", "--to-selector")).toThrow(/^--to-selector "app in \(":/);
  });

  it("chooses the pods of the namespaces, in their order then by name, that match", async () => {
    const b = fakeBackend([
      pod("api", "b", { app: "web", tier: "a" }),
      pod("api", "a", { app: "web", tier: "b" }),
      pod("api", "c", { app: "web", tier: "a", canary: "" }),
      pod("shop", "z", { app: "web" }),
      pod("shop", "y", { app: "db" }),
      pod("other", "x", { app: "web" }),
    ]);
    const names = async (ns: string[], sel: string): Promise<string[]> =>
      (await listSelectedPods(b, ns, parseSelector(sel, "-l"))).map(
        (p) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`,
      );
    expect(await names(["shop", "api"], "")).toEqual(["shop/y", "shop/z", "api/a", "api/b", "api/c"]);
    expect(await names(["shop", "api"], "app=web,!canary")).toEqual(["shop/z", "api/a", "api/b"]);
    expect(await names(["api"], "tier in (a),canary")).toEqual(["api/c"]);
    expect(await names(["api"], "tier notin (a)")).toEqual(["api/a"]);
  });

  it("leaves out, saying why, the pods that cannot be an end; takes the address of the family", () => {
    const pods = [
      pod("a", "dual", { x: "1" }, { ips: ["10.244.1.5", "fd00::5"] }),
      pod("a", "host", {}, { hostNetwork: true, ips: ["172.18.0.3"] }),
      pod("a", "pending", {}, { node: "", ips: [] }),
      pod("a", "done", {}, { phase: "Succeeded" }),
      pod("a", "v4only", {}, { ips: ["10.244.1.6"] }),
      pod("a", "noip", {}, { ips: [] }),
    ];
    expect(matrixFamily(pods, undefined)).toBe(4);
    expect(matrixFamily([pods[1] as PodObject, pod("a", "v6", {}, { ips: ["fd00::9"] })], undefined)).toBe(6);
    expect(matrixFamily(pods, 6)).toBe(6);
    const v6 = matrixPods(pods, 6);
    expect(v6.pods).toEqual([
      { kind: "pod", namespace: "a", name: "dual", node: "ovn-worker", ip: "fd00::5", labels: { x: "1" } },
    ]);
    expect(v6.skipped).toEqual([
      {
        namespace: "a",
        name: "host",
        why: "host-network pod: it has its node's address, and NetworkPolicies do not apply to it",
      },
      { namespace: "a", name: "pending", why: "not scheduled on a node" },
      { namespace: "a", name: "done", why: "not running (phase Succeeded)" },
      { namespace: "a", name: "v4only", why: "no IPv6 address" },
      { namespace: "a", name: "noip", why: "no IP address yet" },
    ]);
    expect(matrixPods(pods, 4).pods.map((p) => `${p.name} ${p.ip}`)).toEqual([
      "dual 10.244.1.5",
      "v4only 10.244.1.6",
    ]);
  });

  it("takes the Services with a cluster IP of the family, on the matrix's ports they expose", async () => {
    const svc = (
      name: string,
      ips: string[],
      ports: { port: number; protocol?: string }[],
    ): ServiceObject => ({
      metadata: { namespace: "api", name },
      spec: { clusterIPs: ips, ports },
    });
    const b = fakeBackend(
      [],
      [
        svc("web", ["10.96.0.80"], [{ port: 80 }, { port: 53, protocol: "UDP" }]),
        svc("headless", ["None"], [{ port: 80 }]),
        svc("dns", ["10.96.0.10", "fd00::a"], [{ port: 53, protocol: "UDP" }]),
        svc("other", ["10.96.0.99"], [{ port: 9999 }]),
      ],
    );
    const ports = parsePorts(["tcp/80,udp/53,icmp"]);
    expect(await matrixServices(b, ["api"], 4, ports)).toEqual([
      { kind: "service", namespace: "api", name: "dns", ip: "10.96.0.10", ports: [1] },
      { kind: "service", namespace: "api", name: "web", ip: "10.96.0.80", ports: [0, 1] },
    ]);
    expect((await matrixServices(b, ["api"], 6, ports)).map((s) => `${s.name} ${s.ip}`)).toEqual([
      "dns fd00::a",
    ]);
  });
});
