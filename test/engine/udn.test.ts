import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import type { NodeObject } from "../../src/cluster/kube-objects.js";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import {
  dumpUdnVrfTableIds,
  formatUdnVrfTableIds,
  parseIpJsonLinks,
  udnNetworkIds,
} from "../../src/engine/udn.js";
import { InputError, ProcessError } from "../../src/errors.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { resolveScenario } from "../../src/lab/cluster.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { netnsPrefix } from "../../src/lab/netns.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { ExecRequest } from "../k8s-api/server.js";
import type { ExecResult } from "../../src/cluster/backend.js";
import { ParseError } from "../../src/errors.js";
import { mgmtLinkName } from "../../src/cluster/mgmt-link.js";

const SCENARIO = `${EXAMPLES_DIR}kind-udn.yaml`;
/** The networks as the scenario file declares them (ground truth, not the lab code's reading). */
const declared = (
  parse(readFileSync(SCENARIO, "utf8")) as { userDefinedNetworks: { name: string; id: number }[] }
).userDefinedNetworks;
/** ovn-kubernetes: link ovn-k8s-mp<network id>; VRF table = that link's ifindex + 1000 (CalculateRouteTableID). */
const linkOf = (id: number): string => `ovn-k8s-mp${id}`;
const tableOf = (ifindex: number): number => ifindex + 1000;

interface IpLinkJson {
  ifname: string;
  ifindex: number;
  linkinfo?: { info_kind?: string };
}
const ipIn = (netns: string, ...args: string[]): string =>
  execFileSync("ip", ["-n", netns, ...args], { encoding: "utf8" });
const linksIn = (netns: string): IpLinkJson[] => JSON.parse(ipIn(netns, "-d", "-j", "link")) as IpLinkJson[];
const netnsList = (): string[] =>
  execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter(Boolean);

/** What the Go tool would print, from links read here with `ip -n <netns> -j link`. */
function expectedFromKernel(s: LabState): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const { node, name } of s.netns ?? []) {
    const links = linksIn(name);
    out[node] = {};
    for (const u of declared) {
      const link = links.find((l) => l.ifname === linkOf(u.id));
      if (link !== undefined) out[node][u.name] = tableOf(link.ifindex);
    }
  }
  return out;
}

describe("-dump-udn-vrf-table-ids against the lab (examples/kind-udn.yaml)", () => {
  let s: LabState;
  let names: string[] = [];
  const dir = newLabDir();
  beforeAll(async () => {
    s = (await labUp(loadScenarioFile(SCENARIO), dir)).state;
    names = (s.netns ?? []).map((x) => x.name);
  });
  afterAll(async () => {
    await labDown(dir);
  });

  it("gives each node a network namespace with lo, ovn-k8s-mp0, one link per UDN and breth0, all up", () => {
    expect((s.netns ?? []).map((x) => x.node)).toEqual(["ovn-control-plane", "ovn-worker", "ovn-worker2"]);
    expect(new Set(names).size).toBe(3);
    for (const ns of names) {
      expect(netnsList()).toContain(ns);
      const brief = ipIn(ns, "-br", "link");
      // and the uplink breth0 (the node IP, the default route: src/lab/host-network.ts)
      for (const link of ["lo", "ovn-k8s-mp0", "ovn-k8s-mp1", "ovn-k8s-mp2", "breth0"])
        expect(brief).toMatch(new RegExp(`^${link}\\s+\\S+\\s+\\S+\\s+<[^>]*\\bUP\\b`, "m"));
      expect(brief.trim().split("\n")).toHaveLength(5);
    }
  });

  it("runs node commands inside the node's namespace, and OVS commands still reach the node's daemons", async () => {
    const worker = s.netns?.find((x) => x.node === "ovn-worker")?.name ?? "";
    const r = await runOnNode(s, "ovn-worker", ["ip", "-j", "link"]);
    expect(r.exitCode).toBe(0);
    const seen = (JSON.parse(r.stdout) as IpLinkJson[]).map((l) => `${l.ifname}:${l.ifindex}`);
    expect(seen).toEqual(linksIn(worker).map((l) => `${l.ifname}:${l.ifindex}`));
    const ovs = await runOnNode(s, "ovn-worker", [
      "ovs-vsctl",
      "get",
      "open_vswitch",
      ".",
      "external-ids:hostname",
    ]);
    expect(ovs.stdout.trim()).toBe("ovn-worker");
  });

  it("annotates every node with k8s.ovn.org/network-ids as cluster-manager writes it", async () => {
    const nodes = await LabBackend.open(s.dir).listNodes();
    expect(nodes).toHaveLength(3);
    for (const n of nodes)
      expect(n.metadata?.annotations?.["k8s.ovn.org/network-ids"]).toBe(
        '{"cluster_udn_red":"2","default":"0","tenant-blue_blue":"1"}',
      );
    const ns = await LabBackend.open(s.dir).readNamespace("tenant-blue");
    expect(ns.metadata?.labels).toMatchObject({ "k8s.ovn.org/primary-user-defined-network": "" });
  });

  it("dumps, per node, 1000 + the ifindex of each network's management link (lab backend)", async () => {
    const got = await dumpUdnVrfTableIds(LabBackend.open(s.dir));
    const want = expectedFromKernel(s);
    expect(Object.keys(want)).toHaveLength(3);
    for (const node of Object.values(want))
      expect(Object.keys(node).sort()).toEqual(["cluster_udn_red", "tenant-blue_blue"]);
    expect(got).toEqual(want);
    // A fresh namespace numbers lo 1, then ovn-k8s-mp0, mp1, mp2 in creation order.
    expect(got["ovn-worker"]).toEqual({ "tenant-blue_blue": 1003, cluster_udn_red: 1004 });
  });

  it("follows the kernel: a re-created link changes its table, a missing link drops the network", async () => {
    const [, worker, worker2] = names;
    if (worker === undefined || worker2 === undefined) throw new Error("lab has fewer than 3 netns");
    const kind = linksIn(worker).find((l) => l.ifname === "ovn-k8s-mp1")?.linkinfo?.info_kind ?? "dummy";
    ipIn(worker, "link", "del", "ovn-k8s-mp1");
    ipIn(worker, "link", "add", "ovn-k8s-mp1", "type", kind);
    ipIn(worker2, "link", "del", "ovn-k8s-mp2");
    const want = expectedFromKernel(s);
    expect(want["ovn-worker"]?.["tenant-blue_blue"]).toBe(1005);
    expect(want["ovn-worker2"]).toEqual({ "tenant-blue_blue": 1003 });
    expect(await dumpUdnVrfTableIds(LabBackend.open(s.dir))).toEqual(want);
  });

  it("gives the same through the kube backend: ip -j link exec'd in each ovnkube-node pod", async () => {
    const execs: ExecRequest[] = [];
    const server = await serveLab(s, { recordExecs: execs });
    const backend = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "lab" });
    try {
      const got = await dumpUdnVrfTableIds(backend);
      expect(got).toEqual(expectedFromKernel(s));
      expect(execs).toHaveLength(3);
      for (const e of execs) {
        expect(e.namespace).toBe("ovn-kubernetes");
        expect(e.pod).toMatch(/^ovnkube-node-/);
        expect(e.container).toBe("ovnkube-controller");
        expect(e.command).toEqual(["ip", "-j", "link"]);
      }
      expect(new Set(execs.map((e) => e.pod)).size).toBe(3);
      expect(server.requests.filter((r) => r.method !== "GET")).toEqual([]);
    } finally {
      await backend.close();
      await server.close();
    }
  });

  it("prints what the Go tool prints: compact JSON, keys sorted", async () => {
    const text = formatUdnVrfTableIds(await dumpUdnVrfTableIds(LabBackend.open(s.dir)));
    const want = expectedFromKernel(s);
    const w = (node: string, net: string): number => want[node]?.[net] ?? -1;
    expect(text).toBe(
      `{"ovn-control-plane":{"cluster_udn_red":${w("ovn-control-plane", "cluster_udn_red")},"tenant-blue_blue":${w("ovn-control-plane", "tenant-blue_blue")}},` +
        `"ovn-worker":{"cluster_udn_red":${w("ovn-worker", "cluster_udn_red")},"tenant-blue_blue":${w("ovn-worker", "tenant-blue_blue")}},` +
        `"ovn-worker2":{"tenant-blue_blue":${w("ovn-worker2", "tenant-blue_blue")}}}`,
    );
  });

  it("lab down deletes every namespace of the lab", async () => {
    expect(names.every((n) => netnsList().includes(n))).toBe(true);
    await labDown(s.dir);
    const left = netnsList();
    expect(names.filter((n) => left.includes(n))).toEqual([]);
    expect(existsSync(s.dir)).toBe(false);
  });
});

describe("lab namespaces when up fails half way", () => {
  it("leaves no namespace and no directory behind", async () => {
    const c = loadScenarioFile(SCENARIO);
    // An underlay address OVS rejects: the nodes' `netdev-dummy/ip4addr` fails after their netns exist.
    const broken = { ...c, nodes: c.nodes.map((n, i) => (i === 2 ? { ...n, ip: "not-an-ip" } : n)) };
    const dir = newLabDir();
    await expect(labUp(broken, dir)).rejects.toThrow(/not-an-ip/);
    expect(netnsList().filter((n) => n.startsWith(netnsPrefix(dir)))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

/** Only nodes and execs: what dumpUdnVrfTableIds may use. */
function stubBackend(
  nodes: Record<string, string | undefined>,
  exec: (node: string) => Partial<ExecResult>,
): ClusterBackend & { execs: string[] } {
  const execs: string[] = [];
  const no = (): Promise<never> => Promise.reject(new Error("not used by the dump"));
  return {
    kind: "snapshot",
    description: "stub",
    execs,
    listNodes: () =>
      Promise.resolve(
        Object.entries(nodes).map(([name, ids]): NodeObject => ({
          metadata: { name, annotations: ids === undefined ? {} : { "k8s.ovn.org/network-ids": ids } },
        })),
      ),
    execOnNode: (node, argv) => {
      execs.push(`${node}: ${argv.join(" ")}`);
      return Promise.resolve({
        argv,
        exitCode: 0,
        stdout: "",
        stderr: "",
        timedOut: false,
        durationMs: 1,
        ...exec(node),
      });
    },
    readPod: no,
    listPods: no,
    readNode: no,
    readNamespace: no,
    listNamespaces: no,
    readService: no,
    listServices: no,
    listEndpointSlices: no,
    listNetworkPolicies: no,
    close: () => Promise.resolve(),
  };
}

const LINKS = JSON.stringify([
  { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP"] },
  { ifindex: 7, ifname: "ovn-k8s-mp0" },
  { ifindex: 12, ifname: "ovn-k8s-mp3" },
  { ifindex: 15, ifname: "ovn-k8s-mp12345" },
]);

describe("dumpUdnVrfTableIds on odd clusters (stub backend)", () => {
  it("maps each network id to its link and leaves out networks without a link on the node", async () => {
    const b = stubBackend({ w1: '{"default":"0","ns_blue":"3","cluster_udn_x":"4","big":"123456"}' }, () => ({
      stdout: LINKS,
    }));
    expect(await dumpUdnVrfTableIds(b)).toEqual({ w1: { ns_blue: 1012, big: 1015 } });
    expect(b.execs).toEqual(["w1: ip -j link"]);
  });

  it("gives {} for a node without the annotation or with the default network only, without exec", async () => {
    const b = stubBackend({ a: undefined, b: '{"default":"0"}' }, () => ({ stdout: LINKS }));
    const got = await dumpUdnVrfTableIds(b);
    expect(got).toEqual({ a: {}, b: {} });
    expect(formatUdnVrfTableIds(got)).toBe('{"a":{},"b":{}}');
    expect(b.execs).toEqual([]);
  });

  it("fails clearly on a failing exec, unparsable output, or a bad annotation", async () => {
    const ids = '{"default":"0","blue":"3"}';
    await expect(
      dumpUdnVrfTableIds(
        stubBackend({ w1: ids }, () => ({ exitCode: 127, stderr: "bash: ip: command not found" })),
      ),
    ).rejects.toThrow(/node w1: cannot list its links: .*exit 127: bash: ip: command not found/);
    await expect(
      dumpUdnVrfTableIds(stubBackend({ w1: ids }, () => ({ exitCode: 124, timedOut: true }))),
    ).rejects.toBeInstanceOf(ProcessError);
    for (const stdout of [
      "",
      "1: lo: <LOOPBACK,UP> mtu 65536",
      '{"ifname":"lo"}',
      '[{"ifname":"lo"}]',
      "[{]",
    ])
      await expect(dumpUdnVrfTableIds(stubBackend({ w1: ids }, () => ({ stdout })))).rejects.toBeInstanceOf(
        ParseError,
      );
    for (const bad of ["{", '["blue"]', '{"blue":3}', '{"blue":"three"}', '{"blue":"-1"}'])
      await expect(dumpUdnVrfTableIds(stubBackend({ w1: bad }, () => ({ stdout: LINKS })))).rejects.toThrow(
        /node w1: annotation k8s.ovn.org\/network-ids/,
      );
  });

  it("points at the offending line of multi-line output", () => {
    const e = (() => {
      try {
        parseIpJsonLinks('[\n{"ifindex":1,"ifname":"lo"},\n{"ifindex":2 "ifname":"x"}\n]');
      } catch (err) {
        return err as ParseError;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(ParseError);
    expect(e?.line).toBe(3);
  });

  it("names management links as ovn-kubernetes does (15 characters at most)", () => {
    expect(mgmtLinkName(1)).toBe("ovn-k8s-mp1");
    expect(mgmtLinkName(99999)).toBe("ovn-k8s-mp99999");
    expect(mgmtLinkName(123456)).toBe("ovn-k8s-mp12345");
    expect(
      udnNetworkIds({
        metadata: { name: "n", annotations: { "k8s.ovn.org/network-ids": '{"default":"0","a":"+7"}' } },
      }),
    ).toEqual(new Map([["a", 7]]));
  });

  it("formats like Go's json.Marshal of the docs' example (docs/troubleshooting/udn.md)", () => {
    expect(
      formatUdnVrfTableIds({
        "ovn-worker": { "net-red": 4, "net-blue": 3 },
        "ovn-control-plane": { "net-blue": 1, "net-red": 2 },
      }),
    ).toBe('{"ovn-control-plane":{"net-blue":1,"net-red":2},"ovn-worker":{"net-blue":3,"net-red":4}}');
    expect(formatUdnVrfTableIds({ "a<b": { "x&y": 1 } })).toBe('{"a\\u003cb":{"x\\u0026y":1}}');
  });
});

describe("scenario userDefinedNetworks", () => {
  const base = { name: "t", nodes: [{ name: "n1" }] };
  it("rejects duplicate names and ids, the default name, colliding links and two primaries for a namespace", () => {
    const bad = () =>
      resolveScenario({
        ...base,
        userDefinedNetworks: [
          { name: "a", id: 1, namespaces: ["x"] },
          { name: "a", id: 2 },
          { name: "b", id: 1 },
          { name: "default", id: 3 },
          { name: "c", id: 123456 },
          { name: "d", id: 123457, namespaces: ["x"] },
        ],
      });
    expect(bad).toThrow(InputError);
    expect(bad).toThrow(/userDefinedNetworks\[1\]\.name: duplicate network "a"/);
    expect(bad).toThrow(/userDefinedNetworks\[2\]\.id: network id 1 is also used by network "a"/);
    expect(bad).toThrow(/userDefinedNetworks\[3\]\.name: "default" is the cluster default network/);
    expect(bad).toThrow(/userDefinedNetworks\[5\]\.id: management link ovn-k8s-mp12345/);
    expect(bad).toThrow(
      /userDefinedNetworks\[5\]\.namespaces\[0\]: namespace x already has primary network "a"/,
    );
  });

  it("labels the namespaces a network is primary for, creating them", () => {
    const c = resolveScenario({
      ...base,
      namespaces: [{ name: "x", labels: { team: "t" } }],
      userDefinedNetworks: [{ name: "x_net", id: 5, namespaces: ["x", "y"] }],
    });
    expect(c.userDefinedNetworks).toEqual([{ name: "x_net", id: 5, namespaces: ["x", "y"] }]);
    expect(c.namespaces).toEqual([
      { name: "x", labels: { team: "t", "k8s.ovn.org/primary-user-defined-network": "" } },
      { name: "y", labels: { "k8s.ovn.org/primary-user-defined-network": "" } },
    ]);
  });
});
