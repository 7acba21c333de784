import {
  egressFirewallRef,
  egressFirewallRuleOfFlows,
  egressFirewallRuleText,
} from "../explain/egress-firewall.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type { Verdict } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";

/**
 * A packet that left the cluster through an EgressFirewall's Allow rule (its ACL is among the logical flows the
 * source zone's ovn-trace went through) gets that rule named: the rule, not only the absence of a drop, is why it
 * left. Databases unreadable: the verdict stands as it is.
 */
export async function withEgressFirewallRule(
  databasesOf: (node: string) => Promise<OvnDatabases>,
  logical: readonly TracedHop[],
  v: Verdict,
): Promise<Verdict> {
  if (v.kind !== "left-cluster") return v;
  for (const h of logical) {
    const uuids = h.hop.steps.flatMap((s) =>
      s.kind === "logical-stage" && s.uuid !== undefined ? [s.uuid] : [],
    );
    if (uuids.length === 0) continue;
    let dbs: OvnDatabases;
    try {
      dbs = await databasesOf(h.hop.node);
    } catch {
      return v;
    }
    const rule = egressFirewallRuleOfFlows(dbs, uuids);
    if (rule?.type === "Allow")
      return {
        ...v,
        allowedBy: egressFirewallRuleText(rule),
        objects: [...(v.objects ?? []), egressFirewallRef(rule)],
      };
  }
  return v;
}
