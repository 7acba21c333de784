import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import type { TraceOptions } from "../../src/engine/plan.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import type { TraceReport } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { agree, probeOf } from "../helpers/fidelity.js";
import { newLabDir } from "../helpers/lab.js";

/**
 * Ground truth for traffic that crosses the cluster's edge: a client outside sends to a NodePort at a node's
 * external interface (the gateway router's load balancer DNATs it to a backend on the same or another node), and
 * the backend's reply goes back out; a pod's connection to an address outside comes back in from outside (the
 * gateway router's un-SNAT). Each traced verdict must equal what a real packet injected at the same place does in
 * the same lab: the comparison of fidelity.test.ts (node, receiving pod, all four addresses and ports on arrival).
 * IPv4 on kind-dualstack.yaml, IPv6 on acme-prod.yaml (its nodes have IPv6 addresses), both shapes.
 */
/**
 * The reply a real peer sends once the forward packet set up conntrack: a backend answers the address and port it
 * received the packet from (the gateway router's SNAT); the server outside answers the address and port the pod's
 * packet left with (the gateway router's SNAT), arriving at the uplink of the node it left.
 */
async function realReply(
  state: LabState,
  t: TraceTarget,
  forward: ProbeResult,
): Promise<ProbeResult | undefined> {
  const g = forward.verdict;
  if (t.protocol === "icmp") return undefined;
  const back = { protocol: t.protocol, family: forward.injected.family, tcpFlags: "syn|ack" } as const;
  if (g.kind === "delivered")
    return probe(state, {
      ...back,
      src: { namespace: g.namespace, name: g.pod },
      dst: { kind: "ip", ip: g.packet.src },
      srcPort: g.packet.dstPort ?? 0,
      dstPort: g.packet.srcPort ?? forward.injected.srcPort,
    });
  if (g.kind === "left-cluster")
    return probe(state, {
      ...back,
      src: { kind: "external", ip: g.packet.dst, node: g.node },
      dst: { kind: "ip", ip: g.packet.src },
      srcPort: g.packet.dstPort ?? 0,
      dstPort: g.packet.srcPort ?? forward.injected.srcPort,
    });
  return undefined;
}

interface Case {
  readonly name: string;
  readonly target: TraceTarget;
  /** What the real forward packet must do (the case is about that path). */
  readonly expect: { readonly kind: "delivered"; readonly node: string } | { readonly kind: "left-cluster" };
  /** What the case is about: how the reply arrives (the traced verdict, already checked against the real one). */
  readonly reply: Partial<Record<"kind" | "node" | "srcIp" | "dstIp", string>> & {
    readonly srcPort?: number;
  };
  readonly options?: TraceOptions;
}

/** Outside the lab's nodes, on their underlay: the underlay gateway (the lab knows its MAC), and a server further. */
const CLIENT = "172.18.0.1";
const SERVER = "198.51.100.7";

const CASES: readonly Case[] = [
  {
    name: "NodePort from outside to a backend on the entry node (-service), TCP, IPv4",
    target: {
      src: { kind: "external", ip: CLIENT, node: "ovn-worker2" },
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
    expect: { kind: "delivered", node: "ovn-worker2" },
    reply: { kind: "left-cluster", node: "ovn-worker2", srcIp: "172.18.0.4", srcPort: 30080, dstIp: CLIENT },
  },
  {
    name: "NodePort from outside to a backend on another node (-dst-ip NODE_IP -dst-port NODEPORT), TCP, IPv4",
    target: {
      src: { kind: "external", ip: CLIENT, node: "ovn-worker" },
      dst: { kind: "ip", ip: "172.18.0.3" },
      protocol: "tcp",
      dstPort: 30080,
      family: 4,
    },
    expect: { kind: "delivered", node: "ovn-worker2" },
    reply: { kind: "left-cluster", node: "ovn-worker", srcIp: "172.18.0.3", srcPort: 30080, dstIp: CLIENT },
  },
  {
    name: "NodePort from outside through the control plane node to a backend on another node, TCP, IPv4",
    target: {
      src: { kind: "external", ip: CLIENT, node: "ovn-control-plane" },
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 30080,
      family: 4,
    },
    expect: { kind: "delivered", node: "ovn-worker2" },
    reply: {
      kind: "left-cluster",
      node: "ovn-control-plane",
      srcIp: "172.18.0.2",
      srcPort: 30080,
      dstIp: CLIENT,
    },
  },
  {
    name: "a pod's TCP connection to a server outside, and the reply from outside (un-SNAT), IPv4",
    target: {
      src: { namespace: "default", name: "client" },
      dst: { kind: "ip", ip: SERVER },
      protocol: "tcp",
      dstPort: 443,
      family: 4,
    },
    expect: { kind: "left-cluster" },
    reply: { kind: "delivered", node: "ovn-worker", srcIp: SERVER, dstIp: "10.244.1.3" },
    options: { replyFromOutside: true },
  },
  {
    name: "a pod's UDP flow to a server outside, and the reply from outside (un-SNAT), IPv4",
    target: {
      src: { namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      dst: { kind: "ip", ip: SERVER },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    },
    expect: { kind: "left-cluster" },
    reply: { kind: "delivered", node: "ovn-worker2", srcIp: SERVER, dstIp: "10.244.2.5" },
    options: { replyFromOutside: true },
  },
];

/**
 * IPv6 on acme-prod.yaml, whose nodes have IPv6 addresses (the NodePort load balancers have their IPv6 VIPs, and
 * ovnkube-node's gateway flows take IPv6 from the uplink): its underlay's IPv6 gateway as the client; the NodePort
 * Service storefront/frontend has one backend, on node-a17.
 */
const CLIENT_V6 = "fc00:20:30::fe";
const SERVER_V6 = "2001:db8:ac::50";
const frontend = { namespace: "storefront", name: "frontend-7d4b9c8f5-h2xkq" };

const ACME_V6_CASES: readonly Case[] = [
  {
    name: "NodePort from outside to a backend on the entry node (-service), TCP, IPv6",
    target: {
      src: { kind: "external", ip: CLIENT_V6, node: "node-a17" },
      dst: { kind: "service", namespace: "storefront", name: "frontend" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    },
    expect: { kind: "delivered", node: "node-a17" },
    reply: {
      kind: "left-cluster",
      node: "node-a17",
      srcIp: "fc00:20:30::12",
      srcPort: 31380,
      dstIp: CLIENT_V6,
    },
  },
  {
    name: "NodePort from outside to a backend on another node (-dst-ip NODE_IP -dst-port NODEPORT), TCP, IPv6",
    target: {
      src: { kind: "external", ip: CLIENT_V6, node: "infra-east" },
      dst: { kind: "ip", ip: "fc00:20:30::11" },
      protocol: "tcp",
      dstPort: 31380,
      family: 6,
    },
    expect: { kind: "delivered", node: "node-a17" },
    reply: {
      kind: "left-cluster",
      node: "infra-east",
      srcIp: "fc00:20:30::11",
      srcPort: 31380,
      dstIp: CLIENT_V6,
    },
  },
  {
    name: "NodePort from outside to a backend on another node (-service), TCP, IPv6",
    target: {
      src: { kind: "external", ip: CLIENT_V6, node: "gpu-3" },
      dst: { kind: "service", namespace: "storefront", name: "frontend" },
      protocol: "tcp",
      dstPort: 31380,
      family: 6,
    },
    expect: { kind: "delivered", node: "node-a17" },
    reply: {
      kind: "left-cluster",
      node: "gpu-3",
      srcIp: "fc00:20:30::13",
      srcPort: 31380,
      dstIp: CLIENT_V6,
    },
  },
  {
    name: "a pod's TCP connection to a server outside, and the reply from outside (un-SNAT), IPv6",
    target: {
      src: frontend,
      dst: { kind: "ip", ip: SERVER_V6 },
      protocol: "tcp",
      dstPort: 443,
      family: 6,
    },
    expect: { kind: "left-cluster" },
    reply: { kind: "delivered", node: "node-a17", srcIp: SERVER_V6, dstIp: "fd01::100:0:0:1:17" },
    options: { replyFromOutside: true },
  },
];

const tally = { agree: 0, total: 0 };

/** Each scenario on both shapes; kind-dualstack's nodes have no IPv6 address, acme-prod's do. */
const RUNS = [
  { scenario: "kind-dualstack.yaml", cases: CASES, nodesHaveIpv6: false },
  { scenario: "acme-prod.yaml", cases: ACME_V6_CASES, nodesHaveIpv6: true },
].flatMap((m) => (["central", "interconnect"] as const).map((shape) => ({ ...m, shape })));

describe.each(RUNS)(
  "traffic across the cluster's edge: trace verdicts agree with real packets ($scenario, $shape)",
  ({ scenario, shape, cases, nodesHaveIpv6 }) => {
    let state: LabState;
    let backend: LabBackend;
    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}${scenario}`, shape), newLabDir())).state;
      backend = LabBackend.open(state.dir);
    });
    afterAll(async () => {
      await labDown(state.dir);
    });

    /** Traces with the real packet's source port; for a service, the report of the backend the packet reached. */
    async function compare(c: Case, real: ProbeResult): Promise<TraceReport> {
      const r = await resolveTarget(backend, c.target);
      const reports = await runTraces(backend, r, {
        skipDetrace: true,
        allBackends: true,
        srcPort: real.injected.srcPort,
        ...c.options,
      });
      const g = real.verdict;
      const report =
        reports.find(
          (x) =>
            g.kind === "delivered" &&
            x.forward.verdict.kind === "delivered" &&
            x.forward.verdict.to.kind === "pod" &&
            x.forward.verdict.to.name === g.pod,
        ) ?? reports[0];
      if (report === undefined) throw new Error("no report");
      // nothing depends on live datapath state: no trace resumes at a recirculation id, either way
      for (const h of [...report.forward.hops, ...(report.reply?.hops ?? [])])
        expect(h.command.join(" ")).not.toMatch(/recirc_id=/);
      tally.total++;
      expect(agree(report.forward.verdict, real), `forward: ${c.name}`).toBeUndefined();
      tally.agree++;
      const reply = await realReply(state, c.target, real);
      expect(reply, `a real reply for ${c.name}`).toBeDefined();
      expect(report.reply, `a traced reply for ${c.name}`).toBeDefined();
      if (reply === undefined || report.reply === undefined) return report;
      tally.total++;
      expect(agree(report.reply.verdict, reply), `reply: ${c.name}`).toBeUndefined();
      tally.agree++;
      return report;
    }

    it.each(cases.map((c) => [c.name, c] as const))("%s, and its reply", async (_name, c) => {
      const real = await probe(state, probeOf(c.target));
      const g = real.verdict;
      expect(g.kind, c.name).toBe(c.expect.kind);
      if (c.expect.kind === "delivered" && g.kind === "delivered") expect(g.node).toBe(c.expect.node);
      const report = await compare(c, real);
      // what the case is about: the reply leaves with the NodePort's address, or comes in to the pod's own,
      // traced on from where the gateway router's conntrack undoes the forward SNAT
      expect(report.reply?.verdict, c.name).toMatchObject(c.reply);
      const unsnat = report.reply?.hops.find(
        (h) => h.outcome.kind === "output" && h.outcome.port.startsWith("conntrack un-SNAT"),
      );
      expect(unsnat?.node, c.name).toBe(c.reply.node);
    });

    // (acme-prod's nodes have IPv6 addresses: its IPv6 NodePort cases above)
    if (!nodesHaveIpv6)
      it("the NodePort load balancers have no IPv6 VIP here (the nodes have no IPv6 address): refused, saying so", async () => {
        const lbs = await runOnNode(state, "ovn-worker", [
          "ovn-nbctl",
          "--bare",
          "--columns=vips",
          "list",
          "load_balancer",
        ]);
        expect(lbs.stdout).toContain(":30080");
        expect(lbs.stdout).not.toMatch(/\]:30080/);
        await expect(
          resolveTarget(backend, {
            src: { kind: "external", ip: "fd00:ab::1", node: "ovn-worker" },
            dst: { kind: "service", namespace: "default", name: "web" },
            protocol: "tcp",
            dstPort: 80,
            family: 6,
          }),
        ).rejects.toThrow(/no IPv6 address/);
      });
  },
);

afterAll(() => {
  process.stdout.write(
    `fidelity (across the edge): ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets (all four addresses on arrival)\n`,
  );
});
