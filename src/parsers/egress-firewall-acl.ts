import type { OvsdbRow } from "../model/ovsdb.js";
import { externalIds, stringColumn } from "../ovsdb/index.js";

/**
 * The EgressFirewall rule an ACL implements, as ovnkube-controller writes it (pkg/ovn/controller/egressfirewall):
 * external_ids owner-type EgressFirewall, `k8s.ovn.org/name` = the namespace, `rule-index` = the rule's index in
 * spec.egress; action allow (Allow) or drop (Deny); match `(<destinations>) && inport == @<namespace port group>`
 * then, with ports, ` && ((udp && ( udp.dst == 53 )) || (tcp))`. A destination is `ip4.dst == <cidr>` (with
 * ` && ip4.dst != <cluster network>` when the CIDR overlaps it) or, for a DNS name, `ip4.dst == $<address set>` per
 * family. Pure.
 */

export type EgressFirewallProtocol = "TCP" | "UDP" | "SCTP";

export interface EgressFirewallAclRule {
  readonly namespace: string;
  /** The rule's index in spec.egress. */
  readonly ruleIndex: number | undefined;
  readonly type: "Allow" | "Deny";
  /** The rule's cidrSelector (none for a DNS rule). */
  readonly cidrs: readonly string[];
  /** The address sets of a DNS rule's name, one per family (none for a CIDR rule). */
  readonly addressSets: readonly string[];
  /** The cluster networks ovn-kubernetes left out of the CIDR. */
  readonly excluded: readonly string[];
  /** Empty: every protocol and port; no port: every port of the protocol. */
  readonly ports: readonly { readonly protocol: EgressFirewallProtocol; readonly port?: number }[];
}

/** The EgressFirewall rule of an ACL, or undefined when ovn-kubernetes did not write it for one. */
export function egressFirewallAclRule(acl: OvsdbRow): EgressFirewallAclRule | undefined {
  const ids = externalIds(acl);
  if (ids["k8s.ovn.org/owner-type"] !== "EgressFirewall") return undefined;
  const match = stringColumn(acl, "match") ?? "";
  const index = Number(ids["rule-index"]);
  return {
    namespace: ids["k8s.ovn.org/name"] ?? "",
    ruleIndex: Number.isInteger(index) && ids["rule-index"] !== undefined ? index : undefined,
    type: stringColumn(acl, "action") === "drop" ? "Deny" : "Allow",
    cidrs: [...match.matchAll(/ip[46]\.dst == ([0-9a-fA-F.:]+(?:\/\d+)?)(?=[\s)])/g)].map((m) => m[1] ?? ""),
    addressSets: [...match.matchAll(/ip[46]\.dst == \$(\w+)/g)].map((m) => m[1] ?? ""),
    excluded: [...match.matchAll(/ip[46]\.dst != ([0-9a-fA-F.:]+(?:\/\d+)?)/g)].map((m) => m[1] ?? ""),
    ports: portsOf(match),
  };
}

/** `((udp && ( udp.dst == 53 )) || (tcp))` after the port group → UDP 53, TCP. */
function portsOf(match: string): EgressFirewallAclRule["ports"] {
  const l4 = /inport == @\w+ && (.*)$/.exec(match)?.[1] ?? "";
  return [...l4.matchAll(/\((tcp|udp|sctp)(?: && \(([^)]*)\))?\)/g)].flatMap((m) => {
    const protocol = (m[1] ?? "").toUpperCase() as EgressFirewallProtocol;
    const ports = [...(m[2] ?? "").matchAll(/\.dst == (\d+)/g)].map((p) => Number(p[1]));
    return ports.length === 0 ? [{ protocol }] : ports.map((port) => ({ protocol, port }));
  });
}
