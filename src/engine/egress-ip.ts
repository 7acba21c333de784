import { egressIPPolicyMeaning } from "../explain/egress-ip.js";
import { rowByCookie } from "../explain/ovn-index.js";
import { externalIds, stringColumn } from "../ovsdb/index.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type { Verdict } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";
import { firstAlongFlowsMet } from "./flows-met.js";

/**
 * A packet that left the cluster through another node because an EgressIP rerouted it (the reroute policy's
 * logical flow is among those ovn-trace went through in the source zone) gets that policy named: it is why the
 * packet left where it did.
 */
export async function withEgressIPReroute(
  databasesOf: (node: string) => Promise<OvnDatabases>,
  logical: readonly TracedHop[],
  v: Verdict,
): Promise<Verdict> {
  if (v.kind !== "left-cluster") return v;
  const m = await firstAlongFlowsMet(
    databasesOf,
    logical,
    (s) => s.stage === "lr_in_policy",
    (dbs, uuids) =>
      uuids
        .map((uuid) => {
          const flow = rowByCookie(dbs.sb, ["Logical_Flow"], uuid);
          const hint = flow === undefined ? undefined : externalIds(flow)["stage-hint"];
          const policy =
            hint === undefined ? undefined : rowByCookie(dbs.nb, ["Logical_Router_Policy"], hint);
          return policy === undefined || stringColumn(policy, "action") !== "reroute"
            ? undefined
            : egressIPPolicyMeaning(dbs.nb, policy);
        })
        .find((x) => x !== undefined),
  );
  return m === undefined
    ? v
    : { ...v, reroutedBy: m.text, objects: mergeObjects(v.objects ?? [], m.objects) };
}

/** The objects of both, each once. */
function mergeObjects<T>(a: readonly T[], b: readonly T[]): T[] {
  const seen = new Set(a.map((x) => JSON.stringify(x)));
  return [...a, ...b.filter((x) => !seen.has(JSON.stringify(x)))];
}
