import type { OvnDatabases, OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import type { KubeObjectRef } from "../model/report.js";
import { externalIds, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { egressFirewallAclRule } from "../parsers/egress-firewall-acl.js";
import { rowByCookie } from "./ovn-index.js";

/**
 * An EgressFirewall rule in words, read back from the ACL ovnkube-controller wrote for it
 * (parsers/egress-firewall-acl.ts): what a user wrote in the object's spec.egress[rule-index]. A DNS name's
 * destination is its address set (owner-type EgressFirewallDNS, k8s.ovn.org/name = the name), with what it holds
 * now. Pure: it reads the zone's databases.
 */

export interface EgressFirewallRuleRef {
  readonly namespace: string;
  readonly index: string;
  readonly type: "Allow" | "Deny";
  /** `198.51.100.0/24`, `api.example.com (address set a123…: 203.0.113.10)`. */
  readonly destination: string;
  /** `TCP 443, UDP 53`; empty: every protocol and port. */
  readonly ports: string;
  /** The cluster network ovn-kubernetes left out of the rule's CIDR (it never applies to pods). */
  readonly excluded: readonly string[];
}

export function egressFirewallRuleOf(
  acl: OvsdbRow,
  nb: OvsdbDatabase | undefined,
): EgressFirewallRuleRef | undefined {
  const r = egressFirewallAclRule(acl);
  if (r === undefined) return undefined;
  const ports = new Map<string, number[]>();
  for (const p of r.ports)
    ports.set(p.protocol, [...(ports.get(p.protocol) ?? []), ...(p.port === undefined ? [] : [p.port])]);
  return {
    namespace: r.namespace,
    index: r.ruleIndex === undefined ? "?" : String(r.ruleIndex),
    type: r.type,
    destination: [...r.cidrs, ...dnsDestinations(r.addressSets, nb)].join(", "),
    ports: [...ports]
      .map(([proto, numbers]) => (numbers.length === 0 ? proto : `${proto} ${numbers.join(", ")}`))
      .join(", "),
    excluded: r.excluded,
  };
}

/** The DNS names behind address sets, each with its address set(s) and what they hold. */
function dnsDestinations(sets: readonly string[], nb: OvsdbDatabase | undefined): string[] {
  if (sets.length === 0) return [];
  const byDns = new Map<string, string[]>();
  for (const name of sets) {
    const row =
      nb === undefined
        ? undefined
        : tableRows(nb, "Address_Set").find((r) => stringColumn(r, "name") === name);
    const ids = row === undefined ? {} : externalIds(row);
    const dns = ids["k8s.ovn.org/owner-type"] === "EgressFirewallDNS" ? ids["k8s.ovn.org/name"] : undefined;
    const held =
      row === undefined
        ? "not in the northbound database"
        : setColumn(row, "addresses").join(", ") || "empty";
    const key = dns ?? `address set ${name}`;
    byDns.set(key, [...(byDns.get(key) ?? []), `address set ${name}: ${held}`]);
  }
  return [...byDns].map(([dns, held]) =>
    dns.startsWith("address set ") ? held.join("; ") : `${dns} (${held.join("; ")})`,
  );
}

export const egressFirewallRef = (r: EgressFirewallRuleRef): KubeObjectRef => ({
  kind: "EgressFirewall",
  namespace: r.namespace,
  name: "default",
});

/** `rule 3 of EgressFirewall payments/default (Deny TCP 443 to 198.51.100.0/24)`. */
export function egressFirewallRuleText(r: EgressFirewallRuleRef): string {
  const ports = r.ports === "" ? "" : ` ${r.ports}`;
  const outside = r.excluded.length === 0 ? "" : ` except the cluster network ${r.excluded.join(", ")}`;
  return `rule ${r.index} of EgressFirewall ${r.namespace}/default (${r.type}${ports} to ${r.destination}${outside})`;
}

/**
 * The EgressFirewall rule whose ACL a logical trace's steps went through (ovn-trace shows the ACL's flow,
 * whose stage-hint names it), given the logical flow uuids of the steps in trace order: the first one owned
 * by an EgressFirewall, or undefined.
 */
export function egressFirewallRuleOfFlows(
  dbs: OvnDatabases,
  lflowUuids: readonly string[],
): EgressFirewallRuleRef | undefined {
  for (const uuid of lflowUuids) {
    const flow = rowByCookie(dbs.sb, ["Logical_Flow"], uuid);
    const hint = flow === undefined ? undefined : externalIds(flow)["stage-hint"];
    const acl = hint === undefined ? undefined : rowByCookie(dbs.nb, ["ACL"], hint);
    const rule = acl === undefined ? undefined : egressFirewallRuleOf(acl, dbs.nb);
    if (rule !== undefined) return rule;
  }
  return undefined;
}
