import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { hashForOvn } from "../../src/lab/ovnk-names.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import type { TraceReport, Verdict } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { agree, probeOf, realReply } from "../helpers/fidelity.js";
import { labSnapshots } from "../helpers/bare-snapshot.js";
import { newLabDir, waitForMacLearning } from "../helpers/lab.js";

/**
 * EgressIP, ground truth: in examples/kind-egressip.yaml the EgressIP egressip-prod (172.18.0.33, on ovn-worker2, the
 * node labelled k8s.ovn.org/egress-assignable) serves the web pods of the namespaces labelled env=prod. A real packet
 * from a served pod to a server outside must leave through ovn-worker2 with 172.18.0.33 as its source, from a pod on
 * another node (rerouted there) as from one on the egress node; a pod the EgressIP does not select keeps its own
 * node's SNAT, and so does a served pod's packet to another node's IP, while one to a pod goes to it directly (the
 * no-reroute policies; from a served pod on the egress node, breth0 SNATs it once more to that node's IP); the
 * server's reply, sent to the address the packet left with, comes back in through the egress node
 * to the pod. Each traced verdict must equal the real packet's (fidelity.ts: verdict, node, pod or exit, all four
 * addresses on arrival), and the trace must name the EgressIP, the egress node and the reroute policy. Both shapes;
 * then the same from a snapshot of the lab, with and without its Kubernetes objects.
 */

const SCENARIO = `${EXAMPLES_DIR}kind-egressip.yaml`;
/** The scenario as written (what the user declared is the expectation, not what the lab derived). */
const written = parse(readFileSync(SCENARIO, "utf8")) as {
  egressIPs: { name: string; egressIPs: string[] }[];
  nodes: { name: string; labels?: Record<string, string> }[];
};
const EIP = written.egressIPs[0]?.egressIPs[0] ?? "";
const EIP_NAME = written.egressIPs[0]?.name ?? "";
const EGRESS_NODE = written.nodes.find(
  (n) => n.labels?.["k8s.ovn.org/egress-assignable"] !== undefined,
)?.name;
const SERVER = "198.51.100.7";

interface Case {
  readonly name: string;
  readonly target: TraceTarget;
  /** What the real packet must do (the scenario's expectation): leave a node with a source, or reach a pod's node. */
  readonly real:
    | { readonly kind: "left-cluster"; readonly node: string; readonly as: string }
    | { readonly kind: "delivered"; readonly node: string };
  /** Served by the EgressIP (named in the trace), or not (the node's SNAT, no EgressIP named). */
  readonly served: boolean;
}

const to = (pod: string, protocol: "tcp" | "udp", dstPort: number): TraceTarget => ({
  src: { namespace: "shop", name: pod },
  dst: { kind: "ip", ip: SERVER },
  protocol,
  dstPort,
  family: 4,
});

const CASES: readonly Case[] = [
  {
    name: "a served pod on another node than the egress node, TCP: rerouted, leaves the egress node as the EgressIP",
    target: to("web-5f7d8c6b9-qx2lm", "tcp", 443),
    real: { kind: "left-cluster", node: EGRESS_NODE ?? "", as: EIP },
    served: true,
  },
  {
    name: "a served pod on another node than the egress node, UDP",
    target: to("web-5f7d8c6b9-qx2lm", "udp", 53),
    real: { kind: "left-cluster", node: EGRESS_NODE ?? "", as: EIP },
    served: true,
  },
  {
    name: "a served pod on the egress node, TCP: leaves its own node as the EgressIP",
    target: to("web-5f7d8c6b9-h8rtz", "tcp", 443),
    real: { kind: "left-cluster", node: EGRESS_NODE ?? "", as: EIP },
    served: true,
  },
  {
    name: "a pod of the namespace the EgressIP does not select: its own node's SNAT",
    target: to("batch-6c9b5f8d4-p2kzn", "tcp", 443),
    // kind's node addresses: ovn-worker is the second node, 172.18.0.3
    real: { kind: "left-cluster", node: "ovn-worker", as: "172.18.0.3" },
    served: false,
  },
  {
    name: "a served pod to a pod on a third node: pod to pod stays off the reroute (a no-reroute policy)",
    target: {
      src: { namespace: "shop", name: "web-5f7d8c6b9-qx2lm" },
      dst: { kind: "pod", namespace: "default", name: "api-7b9d6f5c4-w4rtn" },
      protocol: "tcp",
      dstPort: 8080,
      family: 4,
    },
    real: { kind: "delivered", node: "ovn-control-plane" },
    served: false,
  },
  {
    name: "a served pod to another node's IP: pod to node stays off the reroute, its own node's SNAT",
    target: { ...to("web-5f7d8c6b9-qx2lm", "tcp", 22), dst: { kind: "ip", ip: "172.18.0.2" } },
    real: { kind: "left-cluster", node: "ovn-worker", as: "172.18.0.3" },
    served: false,
  },
  {
    name: "a served pod on the egress node to another node's IP: breth0 SNATs it again, to its own node's IP",
    target: { ...to("web-5f7d8c6b9-h8rtz", "tcp", 22), dst: { kind: "ip", ip: "172.18.0.3" } },
    // kind's node addresses: ovn-worker2 is the third node, 172.18.0.4
    real: { kind: "left-cluster", node: EGRESS_NODE ?? "", as: "172.18.0.4" },
    served: false,
  },
];

const namedObjects = (v: Verdict): string[] =>
  "objects" in v ? (v.objects ?? []).map((o) => `${o.kind}/${o.namespace ?? ""}/${o.name}`) : [];

/** The verdict with its addresses and what the trace named, as one comparable line. */
const summaryOf = (r: TraceReport | undefined): string => {
  const v = r?.forward.verdict;
  if (v?.kind !== "left-cluster") return v?.kind ?? "none";
  return `${v.node} ${v.srcIp}:${String(v.srcPort)} ${v.snat ?? ""} | ${v.reroutedBy ?? ""} | ${namedObjects(v).sort().join(",")}`;
};

/** The server's real reply: to the address and port the packet left with, in at the uplink of the node it left. */
function replyFromOutside(state: LabState, t: TraceTarget, forward: ProbeResult): Promise<ProbeResult> {
  const g = forward.verdict;
  if (g.kind !== "left-cluster" || t.protocol === "icmp") throw new Error(`no reply to ${g.kind}`);
  return probe(state, {
    src: { kind: "external", ip: g.packet.dst, node: g.node },
    dst: { kind: "ip", ip: g.packet.src },
    protocol: t.protocol,
    family: forward.injected.family,
    tcpFlags: "syn|ack",
    srcPort: g.packet.dstPort ?? 0,
    dstPort: g.packet.srcPort ?? forward.injected.srcPort,
  });
}

async function trace(b: ClusterBackend, c: Case, srcPort: number, reply: boolean): Promise<TraceReport> {
  const reports = await runTraces(b, await resolveTarget(b, c.target), {
    skipDetrace: true,
    srcPort,
    ...(reply ? { replyFromOutside: true } : {}),
  });
  const r = reports[0];
  if (r === undefined) throw new Error(`no report for ${c.name}`);
  return r;
}

const tally = { agree: 0, total: 0 };

describe.each(["central", "interconnect"] as const)(
  "EgressIP: traces agree with real packets (%s)",
  (shape) => {
    let state: LabState;
    let live: LabBackend;
    const liveSummaries = new Map<string, { summary: string; srcPort: number }>();

    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
      live = LabBackend.open(state.dir);
    });
    afterAll(async () => {
      await labDown(state.dir);
    });

    it("writes the policies, NATs and address sets as ovnkube-controller does, in every zone", async () => {
      const served = hashForOvn("default-network-controller:EgressIP:egressip-served-pods:v4:default");
      const esvc = hashForOvn("default-network-controller:EgressService:egresssvc-served-pods:v4");
      const nodeIps = hashForOvn("default-network-controller:ClusterNodeIPs:node-ips:v4");
      const ids = (priority: number, name: string, family: string): string =>
        `ip-family=${family} k8s.ovn.org/id=default-network-controller:EgressIP:${String(priority)}:${name}:${family}:default k8s.ovn.org/name=${name} k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressIP network=default priority=${String(priority)}`;
      for (const n of state.cluster.nodes) {
        const zoneHasPod = (node: string): boolean => shape === "central" || n.name === node;
        const policies = await runOnNode(state, n.name, [
          "ovn-nbctl",
          "--format=csv",
          "--data=bare",
          "--no-headings",
          "--columns=priority,match,action,nexthops,options,external_ids",
          "find",
          "logical_router_policy",
          "external_ids:k8s.ovn.org/owner-type=EgressIP",
        ]);
        // the reroute next hop: the egress node's gateway router join IP (100.64.0.<node id 4>) from its own zone
        // and everywhere in a central cluster, its transit switch IP (100.88.0.4) from another zone
        const hop = shape === "central" || n.name === EGRESS_NODE ? "100.64.0.4" : "100.88.0.4";
        expect(policies.stdout.trim().split("\n").sort(), n.name).toEqual(
          [
            `102,(ip4.src == $${served} || ip4.src == $${esvc}) && ip4.dst == $${nodeIps},allow,,pkt_mark=1008,${ids(102, "EIP-No-Reroute-Pod-To-Node", "ip4")}`,
            `102,ip4.src == 10.244.0.0/16 && ip4.dst == 10.244.0.0/16,allow,,,${ids(102, "EIP-No-Reroute-Pod-To-Pod", "ip4")}`,
            `102,ip4.src == 10.244.0.0/16 && ip4.dst == 100.64.0.0/16,allow,,,${ids(102, "EIP-No-Reroute-Pod-To-Join", "ip4")}`,
            `102,pkt.mark == 42,allow,,,${ids(102, "EIP-No-Reroute-reply-traffic", "ip")}`,
            ...(zoneHasPod("ovn-worker")
              ? [
                  `100,ip4.src == 10.244.1.5,reroute,${hop},,${ids(100, "egressip-prod_shop/web-5f7d8c6b9-qx2lm", "ip4")}`,
                ]
              : []),
            ...(zoneHasPod("ovn-worker2")
              ? [
                  `100,ip4.src == 10.244.2.6,reroute,100.64.0.4,,${ids(100, "egressip-prod_shop/web-5f7d8c6b9-h8rtz", "ip4")}`,
                ]
              : []),
          ].sort(),
        );
        // the SNATs, on the egress node's gateway router only: one per served pod, wherever it runs
        const nats = await runOnNode(state, n.name, [
          "ovn-nbctl",
          "--format=csv",
          "--data=bare",
          "--no-headings",
          "--columns=type,external_ip,logical_ip,logical_port,options,external_ids",
          "find",
          "nat",
          "external_ids:k8s.ovn.org/owner-type=EgressIP",
        ]);
        const nat = (pod: string, ip: string): string =>
          `snat,${EIP},${ip},k8s-ovn-worker2,stateless=false,ip-family=ip4 k8s.ovn.org/id=default-network-controller:EgressIP:egressip-prod_shop/${pod}:ip4 k8s.ovn.org/name=egressip-prod_shop/${pod} k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressIP`;
        expect(nats.stdout.trim().split("\n").filter(Boolean).sort(), n.name).toEqual(
          zoneHasPod("ovn-worker2")
            ? [nat("web-5f7d8c6b9-h8rtz", "10.244.2.6"), nat("web-5f7d8c6b9-qx2lm", "10.244.1.5")].sort()
            : [],
        );
        const gr = await runOnNode(state, n.name, ["ovn-nbctl", "lr-nat-list", "GR_ovn-worker2"]);
        if (zoneHasPod("ovn-worker2"))
          expect(gr.stdout).toMatch(new RegExp(`snat\\s+${EIP.replace(/\./g, "\\.")}`));
        // the address set of served pods holds the zone's own
        const set = await runOnNode(state, n.name, [
          "ovn-nbctl",
          "--data=bare",
          "--no-headings",
          "--columns=addresses",
          "list",
          "address_set",
          served,
        ]);
        const want = [
          ...(zoneHasPod("ovn-worker") ? ["10.244.1.5"] : []),
          ...(zoneHasPod("ovn-worker2") ? ["10.244.2.6"] : []),
        ];
        expect(set.stdout.trim().split(/\s+/).filter(Boolean).sort(), n.name).toEqual(want);
      }
    });

    it("kubernetes.json has the EgressIP with its status, and the egress node its label", () => {
      const items = (
        JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
          items: {
            kind: string;
            apiVersion: string;
            metadata: { name: string; labels?: Record<string, string> };
            status?: { items?: { node: string; egressIP: string }[] };
          }[];
        }
      ).items;
      const eips = items.filter((o) => o.kind === "EgressIP");
      expect(
        eips.map((o) => `${o.apiVersion} ${o.metadata.name} ${JSON.stringify(o.status?.items)}`),
      ).toEqual([`k8s.ovn.org/v1 ${EIP_NAME} ${JSON.stringify([{ node: EGRESS_NODE, egressIP: EIP }])}`]);
      const labelled = items
        .filter(
          (o) => o.kind === "Node" && o.metadata.labels?.["k8s.ovn.org/egress-assignable"] !== undefined,
        )
        .map((o) => o.metadata.name);
      expect(labelled).toEqual([EGRESS_NODE]);
    });

    it.each(CASES.map((c) => [c.name, c] as const))("%s, and the reply", async (_name, c) => {
      const real = await probe(state, probeOf(c.target));
      const g = real.verdict;
      expect(g.kind, c.name).toBe(c.real.kind);
      if (g.kind === "left-cluster" && c.real.kind === "left-cluster")
        expect(`${g.node} ${g.packet.src}`).toBe(`${c.real.node} ${c.real.as}`);
      if (g.kind === "delivered") expect(g.node, c.name).toBe(c.real.node);
      const report = await trace(live, c, real.injected.srcPort, true);
      const v = report.forward.verdict;
      tally.total++;
      expect(agree(v, real), c.name).toBeUndefined();
      tally.agree++;
      const objects = namedObjects(v);
      if (c.served) {
        expect(objects, JSON.stringify(v)).toEqual(
          expect.arrayContaining([`EgressIP//${EIP_NAME}`, `Node//${EGRESS_NODE ?? ""}`]),
        );
        expect(v.kind === "left-cluster" ? v.snat : "", c.name).toContain(`EgressIP ${EIP_NAME} (${EIP})`);
        expect(v.kind === "left-cluster" ? v.reroutedBy : "", c.name).toContain(
          `EgressIP ${EIP_NAME} for pod shop/${"name" in c.target.src ? c.target.src.name : ""}: rerouted to egress node ${EGRESS_NODE ?? ""}`,
        );
      } else {
        expect(
          objects.filter((o) => o.startsWith("EgressIP/")),
          c.name,
        ).toEqual([]);
        expect(v.kind === "left-cluster" ? v.reroutedBy : undefined, c.name).toBeUndefined();
      }
      // the server answers the address the packet left with (in at the node it left, un-SNATed to the pod); a pod
      // answers the address it received the packet from
      const back =
        g.kind === "left-cluster"
          ? await replyFromOutside(state, c.target, real)
          : await realReply(state, c.target, real);
      expect(back?.verdict.kind, c.name).toBe("delivered");
      if (back === undefined) return;
      expect(report.reply, c.name).toBeDefined();
      if (report.reply === undefined) return;
      tally.total++;
      expect(agree(report.reply.verdict, back), `reply: ${c.name}`).toBeUndefined();
      tally.agree++;
      liveSummaries.set(c.name, { summary: summaryOf(report), srcPort: real.injected.srcPort });
    });

    it("from a snapshot of the lab, and from one without its Kubernetes objects: the same verdicts and names", async () => {
      await waitForMacLearning(state);
      const [snap, bare] = await labSnapshots(live, state.dir);
      for (const dir of [snap, bare]) {
        const offline = await SnapshotBackend.open(dir);
        try {
          // collected from the lab's API objects, or read back from the SNATs in the NB databases
          const eips = await offline.listCustomObjects({
            group: "k8s.ovn.org",
            version: "v1",
            plural: "egressips",
            kind: "EgressIP",
            namespaced: false,
          });
          expect(
            eips.map(
              (o) => `${o.metadata?.name ?? ""} ${JSON.stringify((o as { status?: unknown }).status)}`,
            ),
            dir,
          ).toEqual([`${EIP_NAME} ${JSON.stringify({ items: [{ node: EGRESS_NODE, egressIP: EIP }] })}`]);
          for (const c of CASES) {
            const seen = liveSummaries.get(c.name);
            expect(seen, c.name).toBeDefined();
            if (seen === undefined) continue;
            expect(summaryOf(await trace(offline, c, seen.srcPort, false)), `${dir}: ${c.name}`).toBe(
              seen.summary,
            );
          }
        } finally {
          await offline.close();
        }
      }
    });
  },
);

afterAll(() => {
  process.stdout.write(
    `fidelity (EgressIP): ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets\n`,
  );
});
