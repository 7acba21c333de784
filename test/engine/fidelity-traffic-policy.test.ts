import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { computeMatrix } from "../../src/engine/matrix.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import type { Family, TraceReport } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { agree, probeOf, realReply } from "../helpers/fidelity.js";
import { newLabDir } from "../helpers/lab.js";
import { labSnapshots } from "../helpers/bare-snapshot.js";
import { serveLab } from "../helpers/serve-lab.js";

/**
 * Ground truth for Services with Local traffic policies and for several Services on the same pods
 * (examples/traffic-policy.yaml: echo pods on ovn-worker and ovn-worker2, none on ovn-control-plane, a client pod
 * on every node). A NodePort with externalTrafficPolicy=Local entered from outside at each node, TCP and UDP; a
 * cluster IP with internalTrafficPolicy=Local from the client on each node; each Service of the echo pods from a
 * client. Each traced verdict must equal what a real packet does in the same lab (node, receiving pod, the four
 * addresses and ports on arrival, or the same rejection), both shapes; a rejection must name the Service, its
 * Local policy and the node without an endpoint; a delivery only ever goes to an endpoint on the entry node.
 */

/** The client outside the cluster: the underlay's gateway, of each family. */
const CLIENT: Record<Family, string> = { 4: "172.18.0.1", 6: "fc00:f853:ccd:e793::1" };
const NODE_IP: Record<string, Record<Family, string>> = {
  "ovn-control-plane": { 4: "172.18.0.2", 6: "fc00:f853:ccd:e793::2" },
  "ovn-worker": { 4: "172.18.0.3", 6: "fc00:f853:ccd:e793::3" },
  "ovn-worker2": { 4: "172.18.0.4", 6: "fc00:f853:ccd:e793::4" },
};
const ECHO_INTERNAL_IP: Record<Family, string> = { 4: "10.96.50.20", 6: "fd00:10:96::50:20" };
/** The echo pod of each node that has one. */
const ECHO_ON: Record<string, string> = {
  "ovn-worker": "echo-5f7d9c6b8-2xkqp",
  "ovn-worker2": "echo-5f7d9c6b8-tz4lm",
};
const CLIENT_ON: Record<string, string> = {
  "ovn-control-plane": "client-cp",
  "ovn-worker": "client-w1",
  "ovn-worker2": "client-w2",
};
const NODES = Object.keys(NODE_IP);

interface Case {
  readonly name: string;
  readonly family: Family;
  readonly target: TraceTarget;
  /** The node the policy looks at: the entry node (external) or the client's. */
  readonly node: string;
  /** The Service's Local policy this case is about (undefined: Cluster, any backend). */
  readonly policy?: "externalTrafficPolicy" | "internalTrafficPolicy";
  readonly service: string;
  /** The port the backend must receive the packet on. */
  readonly targetPort: number;
}

const svc = (name: string) => ({ kind: "service" as const, namespace: "default", name });

const casesOf = (family: Family): Case[] => [
  ...NODES.flatMap((node): Case[] =>
    (
      [
        ["tcp", 30090, 8080],
        ["udp", 30053, 5353],
      ] as const
    ).map(([protocol, nodePort, targetPort]) => ({
      name: `NodePort ${String(nodePort)}/${protocol.toUpperCase()} (externalTrafficPolicy=Local) from outside at ${node}, IPv${String(family)}`,
      family,
      target: {
        src: { kind: "external", ip: CLIENT[family], node },
        dst: svc("echo-external"),
        protocol,
        dstPort: nodePort,
        family,
      },
      node,
      policy: "externalTrafficPolicy",
      service: "echo-external",
      targetPort,
    })),
  ),
  // addressed as -dst-ip NODE_IP -dst-port NODEPORT: the same Service found by its nodePort
  ...["ovn-control-plane", "ovn-worker2"].map((node): Case => ({
    name: `${NODE_IP[node]?.[family] ?? ""}:30090/TCP (externalTrafficPolicy=Local) from outside at ${node}, IPv${String(family)}`,
    family,
    target: {
      src: { kind: "external", ip: CLIENT[family], node },
      dst: { kind: "ip", ip: NODE_IP[node]?.[family] ?? "" },
      protocol: "tcp",
      dstPort: 30090,
      family,
    },
    node,
    policy: "externalTrafficPolicy",
    service: "echo-external",
    targetPort: 8080,
  })),
  ...NODES.map((node): Case => ({
    name: `cluster IP (internalTrafficPolicy=Local) from the client on ${node}, IPv${String(family)}`,
    family,
    target: {
      src: { namespace: "default", name: CLIENT_ON[node] ?? "" },
      dst: svc("echo-internal"),
      protocol: "tcp",
      dstPort: 9000,
      family,
    },
    node,
    policy: "internalTrafficPolicy",
    service: "echo-internal",
    targetPort: 9090,
  })),
  // the same pods behind two more Services, each with its own port
  ...(
    [
      ["echo", 443, 8443],
      ["echo-external", 80, 8080],
    ] as const
  ).map(([service, port, targetPort]): Case => ({
    name: `Service ${service} (policies Cluster) port ${String(port)} from the client on ovn-control-plane, IPv${String(family)}`,
    family,
    target: {
      src: { namespace: "default", name: "client-cp" },
      dst: svc(service),
      protocol: "tcp",
      dstPort: port,
      family,
    },
    node: "ovn-control-plane",
    service,
    targetPort,
  })),
];

const CASES: readonly Case[] = [...casesOf(4), ...casesOf(6)];

const tally = { agree: 0, total: 0 };

/** The report of the backend the real packet reached (the first one when it reached none). */
const reportOf = (reports: readonly TraceReport[], real: ProbeResult): TraceReport | undefined =>
  reports.find(
    (x) =>
      real.verdict.kind === "delivered" &&
      x.forward.verdict.kind === "delivered" &&
      x.forward.verdict.to.kind === "pod" &&
      x.forward.verdict.to.name === real.verdict.pod,
  ) ?? reports[0];

describe.each(["central", "interconnect"] as const)(
  "Local traffic policies and Services sharing pods: trace verdicts agree with real packets (%s)",
  (shape) => {
    let state: LabState;
    let backend: LabBackend;
    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}traffic-policy.yaml`, shape), newLabDir())).state;
      backend = LabBackend.open(state.dir);
    });
    afterAll(async () => {
      await labDown(state.dir);
    });

    /** Each case's real packet, for the offline traces to agree with. */
    const reals = new Map<string, ProbeResult>();

    async function traced(c: Case, real: ProbeResult, b: ClusterBackend = backend): Promise<TraceReport[]> {
      const r = await resolveTarget(b, c.target);
      return runTraces(b, r, { skipDetrace: true, allBackends: true, srcPort: real.injected.srcPort });
    }

    it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const real = await probe(state, probeOf(c.target));
      reals.set(c.name, real);
      const g = real.verdict;
      const local = c.policy === undefined ? undefined : ECHO_ON[c.node];
      // what the lab must show for the case to be about Local policies: the node's own pod, or a rejection
      if (c.policy !== undefined)
        expect(g.kind === "delivered" ? g.pod : g.kind, c.name).toBe(local ?? "rejected");
      const reports = await traced(c, real);
      const report = reportOf(reports, real);
      expect(report, c.name).toBeDefined();
      if (report === undefined) return;
      tally.total++;
      expect(agree(report.forward.verdict, real), c.name).toBeUndefined();
      tally.agree++;
      const v = report.forward.verdict;
      if (g.kind === "delivered") {
        expect(g.packet.dstPort, c.name).toBe(c.targetPort);
        if (c.policy === "externalTrafficPolicy")
          expect(g.packet.src, "the client's address is kept").toBe(CLIENT[c.family]);
        // the backend's reply: out through the node it came in at, from the address and port the client sent to
        const reply = await realReply(state, c.target, real);
        expect(reply, c.name).toBeDefined();
        expect(report.reply, c.name).toBeDefined();
        if (reply !== undefined && report.reply !== undefined) {
          tally.total++;
          expect(agree(report.reply.verdict, reply), `reply: ${c.name}`).toBeUndefined();
          tally.agree++;
        }
        if (c.policy === "externalTrafficPolicy")
          expect(report.reply?.verdict, c.name).toMatchObject({
            kind: "left-cluster",
            node: c.node,
            srcIp: NODE_IP[c.node]?.[c.family],
            srcPort: c.target.dstPort,
            dstIp: CLIENT[c.family],
          });
      }
      if (c.policy === undefined) return;
      // only the node's own endpoint is traced: the policy leaves the other node's out
      expect(
        reports.map((x) =>
          x.forward.verdict.kind === "delivered" ? x.forward.verdict.node : x.forward.verdict.kind,
        ),
        c.name,
      ).toEqual([local === undefined ? "rejected" : c.node]);
      // the summary says which policy chose the backend, and how many endpoints it left out
      if (v.kind === "delivered")
        expect(report.forward.summary?.serviceBackend?.local, c.name).toEqual({
          policy: c.policy,
          node: c.node,
          elsewhere: 1,
        });
      if (v.kind !== "rejected") return;
      expect(v.node, c.name).toBe(c.node);
      expect(v.explanation, c.name).toContain(`Service default/${c.service} has ${c.policy}=Local`);
      expect(v.explanation, c.name).toContain(`no ready endpoint on ${c.node}`);
      expect(v.objects, c.name).toContainEqual({ kind: "Service", namespace: "default", name: c.service });
      expect(v.srcIp, "the answer comes from the address the client sent to").toBe(
        c.policy === "externalTrafficPolicy" ? NODE_IP[c.node]?.[c.family] : ECHO_INTERNAL_IP[c.family],
      );
    });

    it("through a Kubernetes API (the kube backend, as on a live cluster): the same verdicts as the real packets", async () => {
      const server = await serveLab(state);
      const kube = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "lab" });
      try {
        for (const c of CASES.filter((x) => x.policy !== undefined)) {
          const real = reals.get(c.name);
          expect(real, c.name).toBeDefined();
          if (real === undefined) continue;
          const report = reportOf(await traced(c, real, kube), real);
          tally.total++;
          expect(report, c.name).toBeDefined();
          if (report === undefined) continue;
          expect(agree(report.forward.verdict, real), c.name).toBeUndefined();
          tally.agree++;
        }
      } finally {
        await kube.close();
        await server.close();
      }
    });

    it("the matrix: each client to echo-internal as its real packet went, a rejection naming the Service", async () => {
      for (const family of [4, 6] as const) {
        const m = await computeMatrix(backend, {
          from: { namespaces: ["default"], selector: "app=client" },
          to: { namespaces: ["default"], selector: "app=none", services: true },
          ports: [{ protocol: "tcp", port: 9000 }],
          family,
        });
        const itp = CASES.filter((c) => c.policy === "internalTrafficPolicy" && c.family === family);
        expect(itp).toHaveLength(NODES.length);
        for (const c of itp) {
          const real = reals.get(c.name);
          const cell = m.cells.find(
            (x) =>
              m.sources[x.from]?.node === c.node &&
              m.destinations[x.to]?.kind === "service" &&
              m.destinations[x.to]?.name === "echo-internal",
          );
          expect(cell, c.name).toBeDefined();
          expect(cell?.verdict, c.name).toBe(real?.verdict.kind === "rejected" ? "rejected" : "allowed");
          if (cell?.verdict !== "rejected") continue;
          expect(cell.explanation, c.name).toContain(
            `internalTrafficPolicy=Local and no ready endpoint on ${c.node}`,
          );
          expect(cell.objects, c.name).toContainEqual({
            kind: "Service",
            namespace: "default",
            name: "echo-internal",
          });
        }
      }
    });

    it("offline: from a snapshot of the lab, and from one without kubernetes.json, the same verdicts as the real packets", async () => {
      for (const dir of await labSnapshots(backend, state.dir)) {
        const offline = await SnapshotBackend.open(dir);
        try {
          // the policies, read back from the load balancers when no Kubernetes object says them
          const spec = async (name: string) => (await offline.readService("default", name)).spec;
          expect(await spec("echo-external"), dir).toMatchObject({ externalTrafficPolicy: "Local" });
          expect(await spec("echo-internal"), dir).toMatchObject({ internalTrafficPolicy: "Local" });
          expect((await spec("echo"))?.internalTrafficPolicy ?? "Cluster", dir).toBe("Cluster");
          expect((await spec("echo-external"))?.internalTrafficPolicy ?? "Cluster", dir).toBe("Cluster");
          for (const c of CASES) {
            const real = reals.get(c.name);
            expect(real, c.name).toBeDefined();
            if (real === undefined) continue;
            const reports = await traced(c, real, offline);
            const report = reportOf(reports, real);
            expect(report, c.name).toBeDefined();
            if (report === undefined) continue;
            tally.total++;
            expect(agree(report.forward.verdict, real), `${dir}: ${c.name}`).toBeUndefined();
            tally.agree++;
            const v = report.forward.verdict;
            if (v.kind === "rejected")
              expect(v.explanation, c.name).toContain(
                `Service default/${c.service} has ${c.policy ?? "?"}=Local and no ready endpoint on ${c.node}`,
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
    `fidelity (Local traffic policies, shared pods): ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets\n`,
  );
});
