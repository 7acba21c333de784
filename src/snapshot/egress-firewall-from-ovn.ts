import type { KubeObject } from "../cluster/kube-objects.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { externalIds, stringColumn, tableRows } from "../ovsdb/index.js";
import { egressFirewallAclRule } from "../parsers/egress-firewall-acl.js";
import { DERIVED_ANNOTATION, DERIVED_FROM_OVN } from "./kubernetes-from-ovn.js";

/**
 * The EgressFirewalls a cluster's NB databases show: each ACL ovnkube-controller wrote for one (owner-type
 * EgressFirewall) is rule `rule-index` of the namespace's EgressFirewall "default": its type, its destination (the
 * CIDR, or the DNS name its address set is named by) and its ports. Every zone holds the same rules; a rule whose
 * ACL no zone holds (ovn-kubernetes writes none for a destination it cannot use) is missing from spec.egress.
 */
export function egressFirewallObjectsFromOvn(nbs: readonly (OvsdbDatabase | undefined)[]): KubeObject[] {
  const rules = new Map<string, Map<number, Record<string, unknown>>>();
  for (const nb of nbs) {
    if (nb === undefined) continue;
    const dnsNameOf = (set: string): string | undefined => {
      const row = tableRows(nb, "Address_Set").find((r) => stringColumn(r, "name") === set);
      const ids = row === undefined ? {} : externalIds(row);
      return ids["k8s.ovn.org/owner-type"] === "EgressFirewallDNS" ? ids["k8s.ovn.org/name"] : undefined;
    };
    for (const acl of tableRows(nb, "ACL")) {
      const r = egressFirewallAclRule(acl);
      if (r?.ruleIndex === undefined || r.namespace === "") continue;
      const cidr = r.cidrs[0];
      const dnsName = r.addressSets.map(dnsNameOf).find((n) => n !== undefined);
      const to =
        cidr !== undefined ? { cidrSelector: cidr } : dnsName !== undefined ? { dnsName } : undefined;
      if (to === undefined) continue;
      const byIndex = rules.get(r.namespace) ?? new Map<number, Record<string, unknown>>();
      byIndex.set(r.ruleIndex, { type: r.type, to, ...(r.ports.length === 0 ? {} : { ports: r.ports }) });
      rules.set(r.namespace, byIndex);
    }
  }
  return [...rules.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([namespace, byIndex]) => ({
      apiVersion: "k8s.ovn.org/v1",
      kind: "EgressFirewall",
      metadata: { name: "default", namespace, annotations: { [DERIVED_ANNOTATION]: DERIVED_FROM_OVN } },
      spec: { egress: [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, rule]) => rule) },
    }));
}
