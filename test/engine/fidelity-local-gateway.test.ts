import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe } from "../../src/lab/probe.js";
import type { DirectionReport, HostHandoff, Verdict } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { agree, probeOf } from "../helpers/fidelity.js";
import { labSnapshots } from "../helpers/bare-snapshot.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { ExecRequest } from "../k8s-api/server.js";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import { verdictSentence } from "../../src/render/verdict-text.js";

/**
 * Local gateway mode (ovn-kubernetes' routingViaHost) on examples/kind-lgw.yaml, both shapes. Ground truth: a real
 * packet injected at the pod's port. A pod's packet to an address outside the cluster network leaves OVN at its
 * node's management port ovn-k8s-mp0 with the pod's own source address (the host masquerades it later, which the lab
 * does not model); the trace must say the same (node, port, addresses), name the cluster router's rule and the Node,
 * and tell what the node's routes do with it. Pod to pod and pod to Service are unchanged from shared gateway mode.
 * IPv4 and IPv6 (the scenario is dual stack, its nodes have IPv6 addresses).
 */

const SCENARIO = `${EXAMPLES_DIR}kind-lgw.yaml`;
/** The scenario as written: node names in order (their subnets are the cluster network's /24s and /64s in that order). */
const NODES = ["lgw-control-plane", "lgw-worker", "lgw-worker2"];
const subnetOf = (node: string): string => `10.244.${String(NODES.indexOf(node))}`;
const subnet6Of = (node: string): string =>
  NODES.indexOf(node) === 0 ? "fd00:10:244::" : `fd00:10:244:${String(NODES.indexOf(node))}::`;
const UNDERLAY_GATEWAY = "172.18.0.1";
const client = { namespace: "default", name: "client" };
const web = { namespace: "default", name: "web" };

interface HostCase {
  readonly name: string;
  readonly target: TraceTarget;
  /** The node whose host gets it (the source pod's), and the source pod's IP (as written in the scenario). */
  readonly node: string;
  readonly podIp: string;
  /** The cluster router's rule: the node subnet's source route, or the node-IP policy at 1004. */
  readonly rule: RegExp;
  /** What `ip route get` on that node must answer. */
  readonly route: { readonly gateway?: string; readonly dev?: string; readonly type?: string };
}

const HOST_CASES: readonly HostCase[] = [
  {
    name: "a pod's TCP connection to a server outside leaves through its node's host (ovn-k8s-mp0)",
    target: {
      src: client,
      dst: { kind: "ip", ip: "198.51.100.7" },
      protocol: "tcp",
      dstPort: 443,
      family: 4,
    },
    node: "lgw-worker",
    podIp: "10.244.1.3",
    rule: /^ovn_cluster_router static route 10\.244\.1\.0\/24 \(policy src-ip\) via 10\.244\.1\.2$/,
    route: { gateway: UNDERLAY_GATEWAY, dev: "breth0" },
  },
  {
    name: "a pod's UDP flow to a server outside, from another node",
    target: { src: web, dst: { kind: "ip", ip: "203.0.113.53" }, protocol: "udp", dstPort: 53, family: 4 },
    node: "lgw-worker2",
    podIp: "10.244.2.4",
    rule: /^ovn_cluster_router static route 10\.244\.2\.0\/24 \(policy src-ip\) via 10\.244\.2\.2$/,
    route: { gateway: UNDERLAY_GATEWAY, dev: "breth0" },
  },
  {
    name: "a pod's ping to another node's IP goes through its own node's host",
    target: { src: client, dst: { kind: "ip", ip: "172.18.0.4" }, protocol: "icmp", dstPort: 0, family: 4 },
    node: "lgw-worker",
    podIp: "10.244.1.3",
    rule: /^ovn_cluster_router static route 10\.244\.1\.0\/24 \(policy src-ip\) via 10\.244\.1\.2$/,
    route: { dev: "breth0" },
  },
  {
    name: "a pod's TCP connection to its own node's IP: the node-IP policy (1004) reroutes it to the host",
    target: {
      src: client,
      dst: { kind: "ip", ip: "172.18.0.3" },
      protocol: "tcp",
      dstPort: 10250,
      family: 4,
    },
    node: "lgw-worker",
    podIp: "10.244.1.3",
    rule: /^ovn_cluster_router policy 1004 \[inport == "rtos-lgw-worker" && ip4\.dst == 172\.18\.0\.3\] reroute 10\.244\.1\.2$/,
    route: { type: "local" },
  },
  {
    name: "IPv6: a pod's TCP connection to a server outside leaves through its node's host",
    target: { src: client, dst: { kind: "ip", ip: "2001:db8::7" }, protocol: "tcp", dstPort: 443, family: 6 },
    node: "lgw-worker",
    podIp: "fd00:10:244:1::3",
    rule: /^ovn_cluster_router static route fd00:10:244:1::\/64 \(policy src-ip\) via fd00:10:244:1::2$/,
    route: { gateway: "fc00:f853:ccd:e793::1", dev: "breth0" },
  },
  {
    name: "IPv6: a pod's UDP flow to its own node's IPv6 address (the node-IP policy)",
    target: {
      src: web,
      dst: { kind: "ip", ip: "fc00:f853:ccd:e793::4" },
      protocol: "udp",
      dstPort: 4789,
      family: 6,
    },
    node: "lgw-worker2",
    podIp: "fd00:10:244:2::4",
    rule: /^ovn_cluster_router policy 1004 \[inport == "rtos-lgw-worker2" && ip6\.dst == fc00:f853:ccd:e793::4\] reroute fd00:10:244:2::2$/,
    route: { type: "local" },
  },
];

/** Unchanged from shared gateway mode (regression): what the real packet does, the trace says. */
const REGRESSION: readonly { readonly name: string; readonly target: TraceTarget }[] = [
  {
    name: "pod to pod on another node, allowed port",
    target: { src: client, dst: { kind: "pod", ...web }, protocol: "tcp", dstPort: 8080, family: 4 },
  },
  {
    name: "pod to pod on another node, port the NetworkPolicy denies",
    target: { src: client, dst: { kind: "pod", ...web }, protocol: "tcp", dstPort: 80, family: 4 },
  },
  {
    name: "pod to Service (cluster IP) with its backend on another node",
    target: {
      src: client,
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "pod to the DNS Service over UDP",
    target: {
      src: { namespace: "default", name: "batch-7c9d5-xw2lp" },
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    },
  },
  {
    name: "IPv6: pod to Service (cluster IP) with its backend on another node",
    target: {
      src: client,
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    },
  },
  {
    name: "pod to pod on the same node",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "batch-7c9d5-xw2lp" },
      protocol: "icmp",
      dstPort: 0,
      family: 4,
    },
  },
];

async function traceForward(b: ClusterBackend, t: TraceTarget, srcPort: number): Promise<DirectionReport> {
  const [report] = await runTraces(b, await resolveTarget(b, t), { skipDetrace: true, srcPort });
  if (report === undefined) throw new Error("no report");
  return report.forward;
}

function handoff(v: Verdict): HostHandoff {
  if (v.kind !== "delivered" || v.host === undefined)
    throw new Error(`not handed to a host: ${verdictSentence(v).text}`);
  return v.host;
}

const tally = { agree: 0, total: 0 };

describe.each(["interconnect", "central"] as const)("local gateway mode (kind-lgw.yaml, %s)", (shape) => {
  let state: LabState;
  let backend: LabBackend;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
    backend = LabBackend.open(state.dir);
  }, 300_000);
  afterAll(async () => {
    await labDown(state.dir);
  });

  it("the lab writes it as ovnkube-controller does: each node subnet's source route to its management port .2, none to a join IP; the nodes' l3-gateway-config says local", async () => {
    for (const node of NODES) {
      const r = await runOnNode(state, node, ["ovn-nbctl", "lr-route-list", "ovn_cluster_router"]);
      expect(r.exitCode, r.stderr).toBe(0);
      const src = r.stdout.split("\n").filter((l) => /\bsrc-ip\b/.test(l));
      const net = subnetOf(node);
      const net6 = subnet6Of(node);
      expect(src.some((l) => new RegExp(`^\\s*${net}\\.0/24\\s+${net}\\.2 src-ip$`).test(l))).toBe(true);
      expect(src.some((l) => new RegExp(`^\\s*${net6}/64\\s+${net6}2 src-ip$`).test(l))).toBe(true);
      expect(src.filter((l) => /\b100\.64\.0\.\d+\b|\bfd98::/.test(l))).toEqual([]);
      // the node-IP reroute policies at 1004 are the same as in shared mode
      const p = await runOnNode(state, node, ["ovn-nbctl", "lr-policy-list", "ovn_cluster_router"]);
      expect(p.stdout).toMatch(
        new RegExp(
          `1004 +inport == "rtos-${node}" && ip4\\.dst == 172\\.18\\.0\\.\\d+ .*reroute +${net}\\.2`,
        ),
      );
    }
    const k8s = JSON.parse(readFileSync(join(state.dir, "kubernetes.json"), "utf8")) as {
      items: { kind: string; metadata: { annotations?: Record<string, string> } }[];
    };
    const modes = k8s.items
      .filter((o) => o.kind === "Node")
      .map(
        (o) =>
          (
            JSON.parse(o.metadata.annotations?.["k8s.ovn.org/l3-gateway-config"] ?? "{}") as {
              default?: { mode?: string };
            }
          ).default?.mode,
      );
    expect(modes).toEqual(NODES.map(() => "local"));
  });

  it.each(HOST_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const real = await probe(state, probeOf(c.target));
    // ground truth: out of OVN at the source node's ovn-k8s-mp0, with the pod's own address
    expect(real.verdict.kind).toBe("delivered-to-host");
    if (real.verdict.kind !== "delivered-to-host") return;
    expect(real.verdict.node).toBe(c.node);
    expect(real.verdict.packet.src).toBe(c.podIp);
    expect(real.arrivals.some((a) => a.node === c.node && a.iface === "ovn-k8s-mp0")).toBe(true);

    const forward = await traceForward(backend, c.target, real.injected.srcPort);
    tally.total++;
    expect(agree(forward.verdict, real)).toBeUndefined();
    tally.agree++;
    const h = handoff(forward.verdict);
    expect(h).toMatchObject({ node: c.node, iface: "ovn-k8s-mp0", gatewayMode: "local" });
    expect(h.rule).toMatch(c.rule);
    expect(h.route).toMatchObject(c.route);
    expect(h.notRead).toMatch(/iptables and nftables are not read/);
    const sentence = verdictSentence(forward.verdict);
    expect(sentence.text).toContain(
      `handed to the host network stack of node ${c.node} at ovn-k8s-mp0 (local gateway mode)`,
    );
    expect(sentence.objects).toContainEqual({ kind: "Node", name: c.node });
    expect(forward.summary?.objects).toContainEqual({ kind: "Node", name: c.node });
  });

  it.each(REGRESSION.map((c) => [c.name, c] as const))("unchanged from shared mode: %s", async (_name, c) => {
    const real = await probe(state, probeOf(c.target));
    expect(["delivered", "not-delivered"]).toContain(real.verdict.kind);
    const forward = await traceForward(backend, c.target, real.injected.srcPort);
    tally.total++;
    expect(agree(forward.verdict, real)).toBeUndefined();
    tally.agree++;
    if (real.verdict.kind === "not-delivered")
      expect(forward.verdict.kind === "dropped" ? forward.verdict.objects : []).toContainEqual({
        kind: "NetworkPolicy",
        namespace: "default",
        name: "web-allow-8080",
      });
  });

  it("through a live cluster's API (kube backend, the test API server): the same handoff, the route read by a read-only exec on the node", async () => {
    const execs: ExecRequest[] = [];
    const server = await serveLab(state, { recordExecs: execs });
    const kube = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "lab" });
    try {
      const c = HOST_CASES[0];
      if (c === undefined) throw new Error("no case");
      const [live, viaApi] = [
        await traceForward(backend, c.target, 45200),
        await traceForward(kube, c.target, 45200),
      ];
      expect(viaApi.verdict).toEqual(live.verdict);
      expect(server.requests.filter((r) => r.method !== "GET")).toEqual([]);
      const routeReads = execs.filter((e) => e.command[0] === "ip");
      expect(routeReads.map((e) => e.command.join(" "))).toEqual([
        `ip -j route get 198.51.100.7 from ${c.podIp} iif ovn-k8s-mp0`,
      ]);
    } finally {
      await kube.close();
      await server.close();
    }
  });

  it("offline: from a snapshot of the lab, and from one without kubernetes.json, every handoff the same, the host's routes looked up in the recorded ones", async () => {
    const [snap, bare] = await labSnapshots(backend, state.dir);
    const live = await Promise.all(HOST_CASES.map((c, i) => traceForward(backend, c.target, 45300 + i)));
    for (const dir of [snap, bare]) {
      const offline = await SnapshotBackend.open(dir);
      try {
        for (const [i, c] of HOST_CASES.entries()) {
          const v = (await traceForward(offline, c.target, 45300 + i)).verdict;
          expect(handoff(v).route, `${dir}: ${c.name}`).toMatchObject(c.route);
          expect(v, `${dir}: ${c.name}`).toEqual(live[i]?.verdict);
        }
      } finally {
        await offline.close();
      }
    }
  });
});

afterAll(() => {
  process.stdout.write(
    `local gateway fidelity: ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets\n`,
  );
});
