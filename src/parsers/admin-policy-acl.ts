import type { OvsdbRow } from "../model/ovsdb.js";
import type { KubeObjectRef } from "../model/report.js";
import { externalIds, numberColumn, stringColumn } from "../ovsdb/index.js";

/**
 * The AdminNetworkPolicy or BaselineAdminNetworkPolicy rule an ACL implements, as ovnkube-controller writes it
 * (pkg/ovn/controller/admin_network_policy: types.go, admin_network_policy.go; pkg/libovsdb/util/acl.go):
 * external_ids owner-type AdminNetworkPolicy / BaselineAdminNetworkPolicy, `k8s.ovn.org/name` = the policy,
 * `direction` = Ingress / Egress, `gress-index` = the rule's index in spec.ingress / spec.egress; ACL tier 1
 * (ANP) or 3 (BANP); action allow-related (Allow), drop (Deny) or pass (Pass, ANP only). The ACL priority is
 * 30000 - 100 × spec.priority - rule index for an ANP, 1750 - rule index for the BANP. The rule's name is
 * not written to OVN. Pure.
 */

export type AdminPolicyKind = "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy";
export type AdminPolicyAction = "Allow" | "Deny" | "Pass";

export interface AdminPolicyRule {
  readonly kind: AdminPolicyKind;
  readonly name: string;
  readonly direction: "ingress" | "egress" | undefined;
  /** The rule's index in spec.ingress or spec.egress. */
  readonly ruleIndex: number | undefined;
  /** The API action the ACL's action stands for; undefined for an action ovn-kubernetes does not write. */
  readonly action: AdminPolicyAction | undefined;
  /** An ANP's spec.priority (0 first, 99 last), from the ACL priority; undefined for the BANP. */
  readonly policyPriority: number | undefined;
}

const ANP_FLOW_START_PRIORITY = 30000;
const ANP_MAX_RULES = 100;
const BANP_FLOW_PRIORITY = 1750;

const ACTIONS: Readonly<Record<string, AdminPolicyAction>> = {
  "allow-related": "Allow",
  drop: "Deny",
  pass: "Pass",
};

const isAdminKind = (owner: string | undefined): owner is AdminPolicyKind =>
  owner === "AdminNetworkPolicy" || owner === "BaselineAdminNetworkPolicy";

/** The ANP/BANP rule of an ACL, or undefined when ovn-kubernetes did not write it for one. */
export function adminPolicyRuleOf(acl: OvsdbRow): AdminPolicyRule | undefined {
  const ids = externalIds(acl);
  const kind = ids["k8s.ovn.org/owner-type"];
  if (!isAdminKind(kind)) return undefined;
  const gress = ids["gress-index"];
  // how far below the first priority of its range the ACL is: 100 × ANP priority + rule index (BANP: rule index)
  const below = offsetInRange(kind, numberColumn(acl, "priority"));
  const dir = ids.direction?.toLowerCase();
  return {
    kind,
    name: ids["k8s.ovn.org/name"] ?? "",
    direction: dir === "ingress" || dir === "egress" ? dir : undefined,
    ruleIndex:
      gress !== undefined && /^\d+$/.test(gress)
        ? Number(gress)
        : below === undefined
          ? undefined
          : below % ANP_MAX_RULES,
    action: ACTIONS[stringColumn(acl, "action") ?? ""],
    policyPriority:
      kind === "AdminNetworkPolicy" && below !== undefined ? Math.floor(below / ANP_MAX_RULES) : undefined,
  };
}

/** An ACL priority's distance below the top of its kind's range; undefined outside the range. */
function offsetInRange(kind: AdminPolicyKind, priority: number | undefined): number | undefined {
  if (priority === undefined) return undefined;
  const [top, size] =
    kind === "AdminNetworkPolicy"
      ? [ANP_FLOW_START_PRIORITY, ANP_MAX_RULES * ANP_MAX_RULES]
      : [BANP_FLOW_PRIORITY, ANP_MAX_RULES];
  const below = top - priority;
  return below >= 0 && below < size ? below : undefined;
}

/** "AdminNetworkPolicy cluster-control, rule 5 (Deny), egress, priority 34". */
export function adminPolicyRuleText(r: AdminPolicyRule): string {
  const rule = r.ruleIndex === undefined ? "" : `, rule ${String(r.ruleIndex)}`;
  const action = r.action === undefined ? "" : ` (${r.action})`;
  const dir = r.direction === undefined ? "" : `, ${r.direction}`;
  const priority = r.policyPriority === undefined ? "" : `, priority ${String(r.policyPriority)}`;
  return `${r.kind} ${r.name}${rule}${action}${dir}${priority}`;
}

/** What the rule did to the packet, for a sentence: "denied by", "allowed by", "passed on by". */
export function adminPolicyVerb(r: AdminPolicyRule): string {
  return r.action === "Allow" ? "allowed by" : r.action === "Pass" ? "passed on by" : "denied by";
}

export const adminPolicyRef = (r: AdminPolicyRule): KubeObjectRef => ({ kind: r.kind, name: r.name });
