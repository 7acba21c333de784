import type { OvnDatabases } from "../model/ovsdb.js";
import type { Step } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";

type LogicalStage = Extract<Step, { kind: "logical-stage" }>;

/**
 * The first thing `find` reads from the logical flows ovn-trace went through, zone by zone (the flows of stages
 * `stage` accepts, by uuid, with that zone's databases); undefined when none, or when a zone's databases cannot
 * be read (what it would name stays unnamed: nothing here changes a verdict).
 */
export async function firstAlongFlowsMet<T>(
  databasesOf: (node: string) => Promise<OvnDatabases>,
  logical: readonly TracedHop[],
  stage: (s: LogicalStage) => boolean,
  find: (dbs: OvnDatabases, flowUuids: readonly string[]) => T | undefined,
): Promise<T | undefined> {
  for (const h of logical) {
    const uuids = h.hop.steps.flatMap((s) =>
      s.kind === "logical-stage" && s.uuid !== undefined && stage(s) ? [s.uuid] : [],
    );
    if (uuids.length === 0) continue;
    let dbs: OvnDatabases;
    try {
      dbs = await databasesOf(h.hop.node);
    } catch {
      return undefined;
    }
    const found = find(dbs, uuids);
    if (found !== undefined) return found;
  }
  return undefined;
}
