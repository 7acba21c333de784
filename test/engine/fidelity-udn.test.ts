import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import type { KubeObjectRef, TraceReport } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { contains, parseCidr, parseIp } from "../../src/net/ip.js";
import { agree, probeOf } from "../helpers/fidelity.js";
import { labSnapshots } from "../helpers/bare-snapshot.js";
import { newLabDir, waitForMacLearning } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";

/**
 * Primary user-defined networks, ground truth: examples/kind-udn-primary.yaml gives namespace tenant-blue the layer3
 * UserDefinedNetwork "blue", tenant-red the layer3 ClusterUserDefinedNetwork "red" and tenant-green the layer2
 * UserDefinedNetwork "green", beside pods of the default network. A real packet between two pods of blue or of green
 * (same node, across nodes), from a default-network pod to a blue or green pod, and from a pod of one network to a
 * default-network pod or a pod of another network must do what the trace says (fidelity.ts:
 * verdict, node, pod, all four addresses on arrival); pods of one network talk at their addresses on it, and the
 * isolation drops name the network and the namespace. Both shapes; then the same cases traced through the Kubernetes
 * API (kube backend) and on a snapshot of the lab, with and without its Kubernetes objects (derived from the OVN
 * databases), against the same real packets.
 */

const SCENARIO = `${EXAMPLES_DIR}kind-udn-primary.yaml`;
const blueClient = { namespace: "tenant-blue", name: "blue-client-7d9f8b6c5-h2xkq" };
const pod = (namespace: string, name: string) => ({ kind: "pod" as const, namespace, name });
const tcp = (src: TraceTarget["src"], dst: TraceTarget["dst"]): TraceTarget => ({
  src,
  dst,
  protocol: "tcp",
  dstPort: 8080,
  family: 4,
});

/** The networks as the scenario declares them (not as the lab derives them). */
const declared = (
  parse(readFileSync(SCENARIO, "utf8")) as {
    userDefinedNetworks: { name: string; topology: { subnets: string[] } }[];
  }
).userDefinedNetworks;
/** Whether an address is on a network, by the subnet the scenario declares for it. */
const inNetwork = (network: string, ip: string | undefined): boolean => {
  const c = parseCidr(declared.find((u) => u.name === network)?.topology.subnets[0] ?? "");
  const a = parseIp(ip ?? "");
  return c !== undefined && a !== undefined && contains(c, a);
};

interface Case {
  readonly name: string;
  readonly target: TraceTarget;
  readonly real: "delivered" | "not-delivered";
  /** Delivered: both ends talk on this network, at addresses of its subnet. */
  readonly on?: string;
  /** Dropped: the objects the explanation must name. */
  readonly names?: readonly KubeObjectRef[];
}

const blueUdn: KubeObjectRef = { kind: "UserDefinedNetwork", namespace: "tenant-blue", name: "blue" };
const greenUdn: KubeObjectRef = { kind: "UserDefinedNetwork", namespace: "tenant-green", name: "green" };
const greenClient = { namespace: "tenant-green", name: "green-client-6f7c8d9b5-r2kxm" };
/** The object a network of the scenario stands for. */
const objectOf: Record<string, KubeObjectRef> = {
  "tenant-blue_blue": blueUdn,
  "tenant-green_green": greenUdn,
};
const CASES: readonly Case[] = [
  {
    name: "blue pod to a blue pod on the same node: on blue",
    target: tcp(blueClient, pod("tenant-blue", "blue-web-5c7d8f9b4-m4tzr")),
    real: "delivered",
    on: "tenant-blue_blue",
  },
  {
    name: "blue pod to a blue pod on another node: on blue, through its transit switch",
    target: tcp(blueClient, pod("tenant-blue", "blue-web-5c7d8f9b4-q8wnv")),
    real: "delivered",
    on: "tenant-blue_blue",
  },
  {
    name: "default-network pod to a blue pod: isolated (ingress)",
    target: tcp({ namespace: "default", name: "client" }, pod("tenant-blue", "blue-web-5c7d8f9b4-q8wnv")),
    real: "not-delivered",
    names: [blueUdn, { kind: "Namespace", name: "tenant-blue" }],
  },
  {
    name: "blue pod to a default-network pod: isolated (egress)",
    target: tcp(blueClient, pod("default", "web")),
    real: "not-delivered",
    names: [blueUdn, { kind: "Namespace", name: "tenant-blue" }],
  },
  {
    name: "green (layer2) pod to a green pod on the same node: on green",
    target: tcp(greenClient, pod("tenant-green", "green-web-7b9c6d8f4-j8mlx")),
    real: "delivered",
    on: "tenant-green_green",
  },
  {
    name: "green (layer2) pod to a green pod on another node: on green, one switch across the nodes",
    target: tcp(greenClient, pod("tenant-green", "green-web-7b9c6d8f4-w5nzq")),
    real: "delivered",
    on: "tenant-green_green",
  },
  {
    name: "default-network pod to a green pod: isolated",
    target: tcp({ namespace: "default", name: "client" }, pod("tenant-green", "green-web-7b9c6d8f4-w5nzq")),
    real: "not-delivered",
    names: [greenUdn, { kind: "Namespace", name: "tenant-green" }],
  },
  {
    name: "green pod to a blue pod: isolated",
    target: tcp(greenClient, pod("tenant-blue", "blue-web-5c7d8f9b4-q8wnv")),
    real: "not-delivered",
    names: [greenUdn],
  },
  {
    name: "red pod to a blue pod: isolated",
    target: tcp(
      { namespace: "tenant-red", name: "red-web-6b8c9d7f5-t6pls" },
      pod("tenant-blue", "blue-web-5c7d8f9b4-m4tzr"),
    ),
    real: "not-delivered",
    names: [{ kind: "ClusterUserDefinedNetwork", name: "red" }],
  },
];

const tally = { agree: 0, total: 0 };

describe.each(["central", "interconnect"] as const)("primary UDN fidelity (%s)", (shape) => {
  let state: LabState;
  let backend: ClusterBackend;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
    backend = LabBackend.open(state.dir);
  }, 300_000);
  afterAll(async () => {
    await labDown(state.dir);
  });
  const reals = new Map<string, ProbeResult>();

  it("kubernetes.json has the networks, and each pod of them its primary entry in k8s.ovn.org/pod-networks", () => {
    const items = (
      JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
        items: {
          kind: string;
          metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
        }[];
      }
    ).items;
    const refs = items.map((o) => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }));
    expect(refs).toContainEqual(blueUdn);
    expect(refs).toContainEqual(greenUdn);
    expect(refs).toContainEqual({ kind: "ClusterUserDefinedNetwork", namespace: undefined, name: "red" });
    const annotation = (ns: string, name: string): Record<string, { role: string; ip_addresses: string[] }> =>
      JSON.parse(
        items.find((o) => o.kind === "Pod" && o.metadata.namespace === ns && o.metadata.name === name)
          ?.metadata.annotations?.["k8s.ovn.org/pod-networks"] ?? "{}",
      ) as Record<string, { role: string; ip_addresses: string[] }>;
    const blue = annotation(blueClient.namespace, blueClient.name);
    expect(blue.default?.role).toBe("infrastructure-locked");
    expect(blue["tenant-blue/blue"]?.role).toBe("primary");
    expect(inNetwork("tenant-blue_blue", blue["tenant-blue/blue"]?.ip_addresses[0]?.split("/")[0])).toBe(
      true,
    );
    expect(annotation("default", "client").default?.role).toBe("primary");
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const real = await probe(state, probeOf(c.target));
    reals.set(c.name, real);
    expect(real.verdict.kind, "the real packet").toBe(c.real);
    const r = await resolveTarget(backend, c.target);
    const [report] = (await runTraces(backend, r, {
      skipDetrace: true,
      srcPort: real.injected.srcPort,
    })) as [TraceReport];
    tally.total++;
    expect(agree(report.forward.verdict, real), c.name).toBeUndefined();
    tally.agree++;
    const v = report.forward.verdict;
    const on = c.on;
    if (on !== undefined) {
      expect(real.verdict.kind === "delivered" && inNetwork(on, real.verdict.packet.src)).toBe(true);
      expect(v.kind === "delivered" && inNetwork(on, v.srcIp) && inNetwork(on, v.dstIp)).toBe(true);
      expect(report.forward.summary?.source.network?.object).toEqual(objectOf[on]);
    }
    // the reply a real peer sends once the forward packet went, against the traced reply
    if (real.verdict.kind === "delivered" && report.reply !== undefined) {
      const back = await probe(state, {
        src: { namespace: real.verdict.namespace, name: real.verdict.pod },
        dst: { kind: "ip", ip: real.verdict.packet.src },
        protocol: "tcp",
        srcPort: real.verdict.packet.dstPort ?? 0,
        dstPort: real.verdict.packet.srcPort ?? real.injected.srcPort,
        family: 4,
        tcpFlags: "syn|ack",
      });
      tally.total++;
      expect(agree(report.reply.verdict, back), `reply: ${c.name}`).toBeUndefined();
      tally.agree++;
    }
    for (const o of c.names ?? []) expect(v.kind === "dropped" ? v.objects : []).toContainEqual(o);
    if (c.names !== undefined)
      expect(v.kind === "dropped" ? v.explanation : "").toMatch(/isolated by its user-defined network/);
  });

  it("through a live cluster's API (kube backend, the test API server): the real packets' verdicts, read-only", async () => {
    const server = await serveLab(state);
    const kube = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "lab" });
    try {
      for (const c of CASES) {
        const real = reals.get(c.name);
        expect(real, c.name).toBeDefined();
        if (real === undefined) continue;
        const r = await resolveTarget(kube, c.target);
        const [report] = (await runTraces(kube, r, {
          skipDetrace: true,
          srcPort: real.injected.srcPort,
        })) as [TraceReport];
        tally.total++;
        expect(agree(report.forward.verdict, real), `kube: ${c.name}`).toBeUndefined();
        tally.agree++;
      }
      expect(server.requests.filter((q) => q.method !== "GET")).toEqual([]);
    } finally {
      await kube.close();
      await server.close();
    }
  }, 300_000);

  it("from a snapshot of the lab, and from one without its Kubernetes objects: the real packets' verdicts", async () => {
    await waitForMacLearning(state);
    const [snap, bare] = await labSnapshots(backend, state.dir);
    for (const dir of [snap, bare]) {
      const offline = await SnapshotBackend.open(dir);
      try {
        for (const c of CASES) {
          const real = reals.get(c.name);
          expect(real, c.name).toBeDefined();
          if (real === undefined) continue;
          const r = await resolveTarget(offline, c.target);
          const [report] = (await runTraces(offline, r, {
            skipDetrace: true,
            srcPort: real.injected.srcPort,
          })) as [TraceReport];
          tally.total++;
          expect(agree(report.forward.verdict, real), `${dir}: ${c.name}`).toBeUndefined();
          tally.agree++;
          const v = report.forward.verdict;
          for (const o of c.names ?? []) expect(v.kind === "dropped" ? v.objects : []).toContainEqual(o);
        }
      } finally {
        await offline.close();
      }
    }
  }, 300_000);
});

afterAll(() => {
  process.stdout.write(
    `udn fidelity: ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets\n`,
  );
});
