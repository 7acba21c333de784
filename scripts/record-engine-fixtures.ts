/**
 * Records real runs of the engine on the lab into test/fixtures/engine/<case>.json (see
 * test/golden/recorded.ts). Run it when the lab's shape or the report changes on purpose:
 *   npx tsx scripts/record-engine-fixtures.ts && npm run golden:update
 * then review the diff of test/fixtures/engine and test/golden/expected.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { LabBackend } from "../src/backends/lab/backend.js";
import { loadNodeView } from "../src/engine/node-view.js";
import { resolveTarget } from "../src/engine/resolve.js";
import { runTraces } from "../src/engine/trace.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp } from "../src/lab/lab.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import type { TraceReport } from "../src/model/report.js";
import type { TraceTarget } from "../src/model/target.js";

interface Case {
  readonly name: string;
  readonly target: TraceTarget;
  readonly options: { readonly allBackends?: boolean; readonly skipDetrace?: boolean };
}

const client = { namespace: "default", name: "client" };
const web = { kind: "pod", namespace: "default", name: "web" } as const;
const dns = { kind: "service", namespace: "kube-system", name: "kube-dns" } as const;

const CASES: readonly Case[] = [
  {
    name: "pod-to-pod-tcp8080",
    target: { src: client, dst: web, protocol: "tcp", dstPort: 8080 },
    options: { skipDetrace: true },
  },
  { name: "policy-drop-tcp80", target: { src: client, dst: web, protocol: "tcp", dstPort: 80 }, options: {} },
  {
    name: "service-udp53",
    target: { src: client, dst: dns, protocol: "udp", dstPort: 53 },
    options: { allBackends: true, skipDetrace: true },
  },
  {
    name: "external-udp443",
    target: { src: client, dst: { kind: "ip", ip: "198.51.100.7" }, protocol: "udp", dstPort: 443 },
    options: { skipDetrace: true },
  },
];

/** Stable across runs: durations say nothing about the engine's logic. */
const stable = (reports: readonly TraceReport[]): unknown =>
  JSON.parse(JSON.stringify(reports, (k, v: unknown) => (k === "durationMs" ? 0 : v)));

async function record(scenario: string, shape: "central" | "interconnect"): Promise<void> {
  const dir = mkdtempSync("/tmp/ovnkube-trace-record-");
  const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}${scenario}`, shape), dir);
  try {
    const b = new LabBackend(state);
    for (const c of CASES) {
      const resolution = await resolveTarget(b, c.target);
      const reports = await runTraces(b, resolution, c.options);
      const views = Object.fromEntries(
        await Promise.all(
          [...resolution.nodes.keys()].map(async (n) => {
            const v = await loadNodeView(b, n);
            return [n, { ...v, encapNodes: Object.fromEntries(v.encapNodes) }] as const;
          }),
        ),
      );
      const name = `${shape}-${c.name}`;
      const out = {
        name,
        scenario,
        shape,
        target: c.target,
        options: c.options,
        resolution: { ...resolution, nodes: Object.fromEntries(resolution.nodes) },
        views,
        reports: stable(reports),
      };
      writeFileSync(
        new URL(`../test/fixtures/engine/${name}.json`, import.meta.url),
        `${JSON.stringify(out, null, 1)}\n`,
      );
      process.stderr.write(`recorded ${name}\n`);
    }
  } finally {
    await labDown(dir);
  }
}

await record("kind.yaml", "interconnect");
await record("kind.yaml", "central");
