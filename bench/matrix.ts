// The reachability matrix on the lab of examples/matrix.yaml (3 nodes, interconnect; 24 pods in 3 namespaces,
// 3 Services): the whole matrix on 5 ports (every cell by ovn-trace, served by daemons), in cells per second
// (the goal: 50); a one-namespace sub-matrix with a process per ovn-trace instead of daemons; and the
// same sub-matrix with --openflow (the full trace of every cell).
//   npx tsx bench/matrix.ts [RUNS]
import { mkdtempSync } from "node:fs";
import { LabBackend } from "../src/backends/lab/backend.js";
import { computeMatrix, type MatrixSpec } from "../src/engine/matrix.js";
import { parsePorts } from "../src/engine/matrix-select.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../src/lab/lab.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import type { DaemonPolicy } from "../src/ovs/ovn-trace-daemons.js";
import { median } from "./ovsdb-load.js";

export interface MatrixRunFigures {
  readonly cells: number;
  readonly ovnTraces: number;
  /** Median wall time of a run, from listing the pods to the last cell. */
  readonly ms: number;
  readonly cellsPerSecond: number;
}

export interface MatrixBench {
  readonly pods: number;
  readonly ports: number;
  /** The whole matrix, ovn-trace daemons. */
  readonly full: MatrixRunFigures;
  /** One namespace to itself: daemons, a process per ovn-trace, and --openflow. */
  readonly subset: {
    readonly daemons: MatrixRunFigures;
    readonly oneShot: MatrixRunFigures;
    readonly openflow: MatrixRunFigures;
  };
}

const NAMESPACES = ["shop", "api", "data"];
const PORTS = parsePorts(["tcp/8080,tcp/5432,udp/53,tcp/80,icmp"]);

const spec = (namespaces: readonly string[], openflow = false): MatrixSpec => ({
  from: { namespaces, selector: "" },
  to: { namespaces, selector: "", services: true },
  ports: PORTS,
  openflow,
});

async function measure(
  state: LabState,
  s: MatrixSpec,
  daemons: DaemonPolicy,
  runs: number,
): Promise<MatrixRunFigures> {
  const times: number[] = [];
  let cells = 0;
  let ovnTraces = 0;
  for (let i = 0; i < runs; i++) {
    // a fresh backend per run: its daemons start (and load their SB) within the measured time
    const b = new LabBackend(state, daemons);
    const started = performance.now();
    try {
      const m = await computeMatrix(b, s);
      times.push(performance.now() - started);
      cells = m.stats.cells;
      ovnTraces = m.stats.ovnTraces;
    } finally {
      await b.close();
    }
  }
  const ms = median(times);
  return { cells, ovnTraces, ms, cellsPerSecond: cells / (ms / 1000) };
}

export async function benchMatrix(runs = 3): Promise<MatrixBench> {
  const dir = mkdtempSync("/tmp/otl-bench-matrix-");
  const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}matrix.yaml`, "interconnect"), dir);
  try {
    const full = await measure(state, spec(NAMESPACES), "always", runs);
    const one = spec(["shop"]);
    const daemons = await measure(state, one, "always", runs);
    const oneShot = await measure(state, one, "never", 1);
    const openflow = await measure(state, spec(["shop"], true), "always", 1);
    return {
      pods: state.cluster.pods.filter((p) => NAMESPACES.includes(p.namespace)).length,
      ports: PORTS.length,
      full,
      subset: { daemons, oneShot, openflow },
    };
  } finally {
    await labDown(dir);
  }
}

/** The figures in a few lines. */
export function matrixBenchLines(r: MatrixBench): string[] {
  const f = (x: MatrixRunFigures): string =>
    `${String(x.cells)} cells, ${String(x.ovnTraces)} ovn-traces in ${x.ms.toFixed(0)} ms: ${x.cellsPerSecond.toFixed(1)} cells/s`;
  return [
    `reachability matrix, 3-node interconnect lab (examples/matrix.yaml), ${String(r.pods)} pods × ${String(r.pods)} pods + Services × ${String(r.ports)} ports:`,
    `  whole matrix, ovn-trace daemons: ${f(r.full)} (goal: 50 cells/s)`,
    `  namespace shop only, daemons:    ${f(r.subset.daemons)}`,
    `  the same, a process per trace:   ${f(r.subset.oneShot)}`,
    `  the same, --openflow:            ${f(r.subset.openflow)}`,
  ];
}

if (process.argv[1]?.endsWith("matrix.ts") === true) {
  const r = await benchMatrix(Number(process.argv[2] ?? 3));
  for (const line of matrixBenchLines(r)) console.log(line);
}
