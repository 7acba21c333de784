import {
  egressFirewallRef,
  egressFirewallRuleOfFlows,
  egressFirewallRuleText,
} from "../explain/egress-firewall.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type { Verdict } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";
import { firstAlongFlowsMet } from "./flows-met.js";

/**
 * A packet that left the cluster through an EgressFirewall's Allow rule (its ACL is among the logical flows the
 * source zone's ovn-trace went through) gets that rule named: the rule, not only the absence of a drop, is why it
 * left.
 */
export async function withEgressFirewallRule(
  databasesOf: (node: string) => Promise<OvnDatabases>,
  logical: readonly TracedHop[],
  v: Verdict,
): Promise<Verdict> {
  if (v.kind !== "left-cluster") return v;
  const rule = await firstAlongFlowsMet(
    databasesOf,
    logical,
    () => true,
    (dbs, uuids) => {
      const r = egressFirewallRuleOfFlows(dbs, uuids);
      return r?.type === "Allow" ? r : undefined;
    },
  );
  return rule === undefined
    ? v
    : {
        ...v,
        allowedBy: egressFirewallRuleText(rule),
        objects: [...(v.objects ?? []), egressFirewallRef(rule)],
      };
}
