import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../src/cluster/lab/backend.js";
import { resolveTarget, type TraceTarget } from "../src/engine/resolve.js";
import { runTraces } from "../src/engine/trace.js";
import { EXAMPLES_DIR } from "../src/lab/examples.js";
import { labDown, labUp, type LabState } from "../src/lab/lab.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import { probe, type ProbeRequest, type ProbeResult } from "../src/lab/probe.js";
import type { Verdict } from "../src/model/report.js";
import { newLabDir } from "./helpers/lab.js";

/**
 * Ground truth: for every case, the traced verdict (OpenFlow on every node the packet crosses)
 * must equal what a real packet injected at the same pod port does in the same lab.
 */
interface Case {
  readonly name: string;
  readonly target: TraceTarget;
}

const client = { namespace: "default", name: "client" };
const CASES: readonly Case[] = [
  {
    name: "same node, UDP",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-kx2vq" },
      protocol: "udp",
      dstPort: 5353,
      family: 4,
    },
  },
  {
    name: "across nodes, UDP, IPv4",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "udp",
      dstPort: 5353,
      family: 4,
    },
  },
  {
    name: "across nodes, UDP, IPv6",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "udp",
      dstPort: 5353,
      family: 6,
    },
  },
  {
    name: "across nodes, ICMP",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "icmp",
      dstPort: 0,
      family: 4,
    },
  },
  {
    name: "across nodes, ICMPv6",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
      protocol: "icmp",
      dstPort: 0,
      family: 6,
    },
  },
  {
    name: "NetworkPolicy allows TCP 8080, IPv4",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 8080,
      family: 4,
    },
  },
  {
    name: "NetworkPolicy drops TCP 80, IPv4",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "NetworkPolicy drops TCP 80, IPv6",
    target: {
      src: client,
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    },
  },
  {
    name: "service kube-dns UDP 53, IPv4",
    target: {
      src: client,
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "udp",
      dstPort: 53,
      family: 4,
    },
  },
  {
    name: "service kube-dns TCP 53, IPv6",
    target: {
      src: client,
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "tcp",
      dstPort: 53,
      family: 6,
    },
  },
  {
    name: "service web (80 -> 8080), IPv4",
    target: {
      src: client,
      dst: { kind: "service", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
  },
  {
    name: "external address, SNAT",
    target: {
      src: client,
      dst: { kind: "ip", ip: "198.51.100.7" },
      protocol: "udp",
      dstPort: 443,
      family: 4,
    },
  },
];

function probeOf(t: TraceTarget): ProbeRequest {
  const dst =
    t.dst.kind === "ip"
      ? { kind: "ip" as const, ip: t.dst.ip }
      : { kind: t.dst.kind, namespace: t.dst.namespace, name: t.dst.name };
  return {
    src: t.src,
    dst,
    protocol: t.protocol,
    ...(t.protocol === "icmp" ? {} : { dstPort: t.dstPort }),
    ...(t.family === undefined ? {} : { family: t.family }),
  };
}

/** The same outcome: the same pod, or both dropped, or both out of the cluster with the same source address. */
function agree(v: Verdict, real: ProbeResult): string | undefined {
  const g = real.verdict;
  if (g.kind === "delivered") {
    if (v.kind !== "delivered" || v.to.kind !== "pod")
      return `real: delivered to ${g.pod}; traced: ${v.kind}`;
    return v.to.name === g.pod && v.node === g.node
      ? undefined
      : `real: ${g.pod} on ${g.node}; traced: ${v.to.name} on ${v.node}`;
  }
  if (g.kind === "not-delivered")
    return v.kind === "dropped" ? undefined : `real: not delivered; traced: ${v.kind}`;
  if (g.kind === "left-cluster") {
    if (v.kind !== "left-cluster") return `real: left the cluster; traced: ${v.kind}`;
    return v.node === g.node && v.snatIp === g.packet.src
      ? undefined
      : `real: left ${g.node} as ${g.packet.src}; traced: ${v.node} as ${v.snatIp ?? "?"}`;
  }
  return `real: ${g.kind}; traced: ${v.kind}`;
}

describe.each(["central", "interconnect"] as const)(
  "trace verdicts agree with real packets (%s)",
  (shape) => {
    let state: LabState;
    let backend: LabBackend;
    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind-dualstack.yaml`, shape), newLabDir())).state;
      backend = LabBackend.open(state.dir);
    });
    afterAll(async () => {
      await labDown(state.dir);
    });

    it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const real = await probe(state, probeOf(c.target));
      const r = await resolveTarget(backend, c.target);
      // for a service, trace to every backend and keep the one the real packet's hash picked
      const reports = await runTraces(backend, r, {
        skipDetrace: true,
        allBackends: true,
        srcPort: real.injected.srcPort,
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
      expect(report).toBeDefined();
      if (report === undefined) return;
      expect(agree(report.forward.verdict, real)).toBeUndefined();
      expect(["delivered", "not-delivered", "left-cluster"]).toContain(g.kind);
    });
  },
);
