// ovn-trace as daemons (one database load per (zone, ct, lb-dst) per run, traces over the control socket)
// against one ovn-trace process per trace, in one run, on the same lab: the full bidirectional pod-to-pod trace,
// and --all-backends on a Service with three backends (where a daemon serves several traces).
import { mkdtempSync, readFileSync } from "node:fs";
import { LabBackend } from "../src/backends/lab/backend.js";
import type { ClusterBackend } from "../src/cluster/backend.js";
import { resolveTarget } from "../src/engine/resolve.js";
import { runTraces } from "../src/engine/trace.js";
import type { TraceTarget } from "../src/model/target.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp } from "../src/lab/lab.js";
import { parseScenario } from "../src/lab/load-scenario.js";
import { resolveScenario, type LabCluster } from "../src/lab/cluster.js";
import type { Scenario } from "../src/lab/scenario.js";
import { benchLabTraceCli, type ProcessFigures } from "./cli.js";
import { median } from "./ovsdb-load.js";

/** The example cluster plus a Service with three backends, one per node. */
function scenario(): LabCluster {
  const file = `${EXAMPLES_DIR}kind.yaml`;
  const base: Scenario = parseScenario(readFileSync(file, "utf8"), file);
  const nodes = base.nodes.map((n) => n.name);
  const pods = nodes.map((node, i) => ({
    namespace: "default",
    name: `api-7f9c${String(i)}`,
    node,
    // kind.yaml's nodes take the /24s of 10.244.0.0/16 in their order
    ips: [`10.244.${String(i)}.20`],
    labels: { app: "api" },
    ports: [{ port: 8443 }],
  }));
  return resolveScenario({
    ...base,
    shape: "interconnect",
    pods: [...(base.pods ?? []), ...pods],
    services: [
      ...(base.services ?? []),
      {
        namespace: "default",
        name: "api",
        clusterIPs: ["10.96.77.7"],
        ports: [{ port: 443, targetPort: 8443 }],
        selector: { app: "api" },
      },
    ],
  });
}

const POD_TO_POD: TraceTarget = {
  src: { kind: "pod", namespace: "default", name: "client" },
  dst: { kind: "pod", namespace: "default", name: "web" },
  protocol: "tcp",
  dstPort: 8080,
};
const ALL_BACKENDS: TraceTarget = {
  src: { kind: "pod", namespace: "default", name: "client" },
  dst: { kind: "service", namespace: "default", name: "api" },
  protocol: "tcp",
  dstPort: 443,
};

/** One run's wall time and the ovn-trace traces it made. */
async function once(
  b: ClusterBackend,
  t: TraceTarget,
  allBackends: boolean,
): Promise<{ ms: number; traces: number }> {
  const started = performance.now();
  const reports = await runTraces(b, await resolveTarget(b, t), { allBackends });
  const ms = performance.now() - started;
  await b.close();
  const traces = reports
    .flatMap((r) => [...r.forward.hops, ...(r.reply?.hops ?? [])])
    .filter((h) => h.tool === "ovn-trace").length;
  return { ms, traces };
}

export interface DaemonBench {
  readonly podToPod: { readonly daemonMs: number; readonly oneShotMs: number };
  /** The same trace with the CLI, a fresh process per run: wall time and peak memory. */
  readonly cli: ProcessFigures;
  readonly allBackends: {
    readonly backends: number;
    readonly traces: number;
    readonly daemonMs: number;
    readonly oneShotMs: number;
  };
}

export async function benchOvnTraceDaemon(runs = 7): Promise<DaemonBench> {
  const dir = mkdtempSync("/tmp/otl-bench-daemon-");
  const { state } = await labUp(scenario(), dir);
  try {
    const p2p = { d: [] as number[], o: [] as number[] };
    const all = { d: [] as number[], o: [] as number[], traces: 0 };
    for (let i = 0; i < runs; i++) {
      // alternated, so that a busy moment of the machine weighs on both
      p2p.d.push((await once(new LabBackend(state, "always"), POD_TO_POD, false)).ms);
      p2p.o.push((await once(new LabBackend(state, "never"), POD_TO_POD, false)).ms);
      const d = await once(new LabBackend(state, "always"), ALL_BACKENDS, true);
      all.d.push(d.ms);
      all.traces = d.traces;
      all.o.push((await once(new LabBackend(state, "never"), ALL_BACKENDS, true)).ms);
    }
    const backends = state.cluster.services.find((s) => s.name === "api")?.endpoints.length ?? 0;
    const cli = benchLabTraceCli(dir, runs, ["-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080"]);
    return {
      podToPod: { daemonMs: median(p2p.d), oneShotMs: median(p2p.o) },
      cli,
      allBackends: { backends, traces: all.traces, daemonMs: median(all.d), oneShotMs: median(all.o) },
    };
  } finally {
    await labDown(dir);
  }
}

if (process.argv[1]?.endsWith("ovn-trace-daemon.ts") === true) {
  const r = await benchOvnTraceDaemon(Number(process.argv[2] ?? 7));
  const rate = (n: number, ms: number) => `${(n / (ms / 1000)).toFixed(1)} ovn-traces/s`;
  console.log("ovn-trace daemons vs one ovn-trace process per trace (3-node interconnect lab, in-process):");
  console.log(
    `  pod->pod both ways: daemons ${r.podToPod.daemonMs.toFixed(0)} ms, one-shot ${r.podToPod.oneShotMs.toFixed(0)} ms (ratio ${(r.podToPod.oneShotMs / r.podToPod.daemonMs).toFixed(2)}x)`,
  );
  console.log(
    `  the same with the CLI: ${r.cli.ms.toFixed(0)} ms, peak ${r.cli.maxRssMb.toFixed(0)} MiB (exit ${String(r.cli.exitCode)})`,
  );
  const a = r.allBackends;
  console.log(
    `  --all-backends, ${String(a.backends)} backends, ${String(a.traces)} ovn-traces: daemons ${a.daemonMs.toFixed(0)} ms (${rate(a.traces, a.daemonMs)}), one-shot ${a.oneShotMs.toFixed(0)} ms (${rate(a.traces, a.oneShotMs)}), ratio ${(a.oneShotMs / a.daemonMs).toFixed(2)}x`,
  );
}
