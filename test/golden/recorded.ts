import { readdirSync, readFileSync } from "node:fs";
import type { NodeView } from "../../src/engine/node-view.js";
import type { TraceReport } from "../../src/model/report.js";
import type { Resolution, ResolvedNode, TraceTarget } from "../../src/model/target.js";

/**
 * Recorded real runs of the engine on the lab (scripts/record-engine-fixtures.ts writes them): what the
 * target resolved to, every node's OVS view, and the reports with every tool output as OVS and OVN
 * printed it. The planner, the stitcher and the renderers are tested on them without daemons.
 */

export const RECORDED = new URL("../fixtures/engine/", import.meta.url);

/** What one recorded case holds, as JSON (maps as plain objects). */
export interface RecordedCase {
  readonly name: string;
  readonly scenario: string;
  readonly shape: "central" | "interconnect";
  readonly target: TraceTarget;
  readonly options: { readonly allBackends?: boolean; readonly skipDetrace?: boolean };
  readonly resolution: Omit<Resolution, "nodes"> & { readonly nodes: Readonly<Record<string, ResolvedNode>> };
  readonly views: Readonly<
    Record<string, Omit<NodeView, "encapNodes"> & { readonly encapNodes: Readonly<Record<string, string>> }>
  >;
  readonly reports: readonly TraceReport[];
}

export function recordedCaseNames(): string[] {
  return readdirSync(RECORDED)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

export function recordedCase(name: string): RecordedCase {
  return JSON.parse(readFileSync(new URL(`${name}.json`, RECORDED), "utf8")) as RecordedCase;
}

export function resolutionOf(c: RecordedCase): Resolution {
  return { ...c.resolution, nodes: new Map(Object.entries(c.resolution.nodes)) };
}

export function viewOf(c: RecordedCase, node: string): NodeView {
  const v = c.views[node];
  if (v === undefined) throw new Error(`no recorded view of ${node} in ${c.name}`);
  return { ...v, encapNodes: new Map(Object.entries(v.encapNodes)) };
}
