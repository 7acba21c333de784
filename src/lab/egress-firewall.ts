import { contains, overlaps, parseCidr, parseIp, type Family } from "../net/ip.js";
import type { LabCluster } from "./cluster.js";
import type { EgressFirewallPort, EgressFirewallRule } from "./egress-firewall-scenario.js";
import { addPortGroup, PolicyBatch } from "./network-policy.js";
import { kv, quote, type CtlBatch } from "./ovsdb-batch.js";
import { dbExternalIds, dbId, hashForOvn, type DbIds } from "./ovnk-names.js";

/**
 * EgressFirewalls as ovnkube-controller writes them (pkg/ovn/controller/egressfirewall/egressfirewall.go): each
 * namespace has a port group of its local pods (PortGroupNamespace, created for every namespace once the feature
 * is on); rule i of the namespace's EgressFirewall is one ACL on it, named `EF:<ns>:<i>`, to-lport at priority
 * 10000 - i, `allow` or `drop`, matching `(<destination>) && inport == @<namespace port group>[ && <ports>]`. A
 * CIDR that overlaps the cluster network leaves it out (`ip4.dst != <cluster network>`); a DNS name is an address
 * set per family (owner EgressFirewallDNS, named by the DNS name) holding what it resolves to outside the cluster
 * network. (ovn-kubernetes also puts the ACLs in tier 2, a column OVN 23.03's NB schema does not have.)
 */

export const EGRESS_FIREWALL_START_PRIORITY = 10000;

const namespacePortGroupIds = (ns: string): DbIds => ({
  ownerType: "Namespace",
  keys: [["k8s.ovn.org/name", ns]],
});

/** The address set of a DNS name's addresses of one family (cluster-wide: one per name, whatever namespace uses it). */
export const dnsAddressSetIds = (dnsName: string, f: Family): DbIds => ({
  ownerType: "EgressFirewallDNS",
  keys: [
    ["k8s.ovn.org/name", dnsName],
    ["ip-family", `v${f}`],
  ],
});

/** Adds the namespace port groups, DNS address sets and ACLs of every EgressFirewall to a zone's NB batch. */
export function egressFirewalls(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch): void {
  if (c.egressFirewalls.length === 0) return;
  const batch = new PolicyBatch(b);
  const portGroups = new Map<string, string>();
  for (const ns of c.namespaces) {
    const lsps = c.pods
      .filter((p) => p.namespace === ns.name && !p.hostNetwork && local.has(p.node))
      .map((p) => p.lsp);
    portGroups.set(ns.name, addPortGroup(b, namespacePortGroupIds(ns.name), lsps));
  }
  const dnsSets = dnsAddressSets(c, b);
  for (const ef of c.egressFirewalls) {
    const pg = portGroups.get(ef.namespace);
    if (pg === undefined) continue;
    for (const [i, rule] of ef.egress.entries()) {
      batch.addAcl(pg, {
        ids: {
          ownerType: "EgressFirewall",
          keys: [
            ["k8s.ovn.org/name", ef.namespace],
            ["rule-index", String(i)],
          ],
        },
        name: `EF:${ef.namespace}:${String(i)}`,
        priority: EGRESS_FIREWALL_START_PRIORITY - i,
        action: rule.type === "Allow" ? "allow" : "drop",
        // to-lport, as ovn-kubernetes' LportIngress: evaluated as the packet leaves the pod's switch
        dir: "Ingress",
        match: ruleMatch(c, pg, rule, dnsSets),
      });
    }
  }
}

/** The address set names of each DNS name (by family), created with what it resolves to outside the cluster network. */
function dnsAddressSets(c: LabCluster, b: CtlBatch): Map<string, Map<Family, string>> {
  const names = new Set(
    c.egressFirewalls.flatMap((ef) => ef.egress.flatMap((r) => ("dnsName" in r.to ? [r.to.dnsName] : []))),
  );
  const clusterNets = c.families.flatMap((f) => parseCidr(c.clusterNetwork[f] ?? "") ?? []);
  const out = new Map<string, Map<Family, string>>();
  for (const name of names) {
    const resolved = c.dnsRecords.find((r) => r.name === name)?.addresses ?? [];
    const byFamily = new Map<Family, string>();
    for (const f of c.families) {
      const ids = dnsAddressSetIds(name, f);
      const set = hashForOvn(dbId(ids));
      const addrs = resolved.filter((a) => {
        const ip = parseIp(a);
        return ip?.family === f && !clusterNets.some((n) => contains(n, ip));
      });
      b.add(
        "create",
        "address_set",
        `name=${quote(set)}`,
        `addresses=[${addrs.map(quote).join(",")}]`,
        ...Object.entries(dbExternalIds(ids)).map(([k, v]) => kv("external_ids", k, v)),
      );
      byFamily.set(f, set);
    }
    out.set(name, byFamily);
  }
  return out;
}

/** generateMatch of ovn-kubernetes: the destination, the namespace's pods as the source, then the ports. */
function ruleMatch(
  c: LabCluster,
  pg: string,
  rule: EgressFirewallRule,
  dnsSets: ReadonlyMap<string, ReadonlyMap<Family, string>>,
): string {
  const dst =
    "cidrSelector" in rule.to
      ? cidrMatch(c, rule.to.cidrSelector)
      : [...(dnsSets.get(rule.to.dnsName) ?? new Map<Family, string>())]
          .map(([f, set]) => `ip${String(f)}.dst == $${set}`)
          .join(" || ");
  const match = `(${dst}) && inport == @${pg}`;
  return rule.ports === undefined || rule.ports.length === 0 ? match : `${match} && ${l4Match(rule.ports)}`;
}

/** `ip4.dst == <cidr>`, leaving out the cluster networks of its family that it overlaps. */
function cidrMatch(c: LabCluster, cidr: string): string {
  const parsed = parseCidr(cidr);
  const f: Family = parsed?.family ?? (cidr.includes(":") ? 6 : 4);
  const net = c.clusterNetwork[f];
  const netCidr = net === undefined ? undefined : parseCidr(net);
  const excluded = parsed !== undefined && netCidr !== undefined && overlaps(parsed, netCidr);
  return `ip${String(f)}.dst == ${cidr}${excluded ? ` && ip${String(f)}.dst != ${net ?? ""}` : ""}`;
}

/**
 * egressGetL4Match of ovn-kubernetes, spacing included: per protocol (udp, tcp, sctp) either the whole protocol
 * (a port entry without a port) or its ports, e.g. `((tcp && ( tcp.dst == 443 )) || (udp))`.
 */
function l4Match(ports: readonly EgressFirewallPort[]): string {
  const parts = (["UDP", "TCP", "SCTP"] as const).flatMap((proto) => {
    const p = proto.toLowerCase();
    const mine = ports.filter((x) => x.protocol === proto);
    if (mine.length === 0) return [];
    if (mine.some((x) => x.port === undefined)) return [`(${p})`];
    return [`(${p} && (${mine.map((x) => ` ${p}.dst == ${String(x.port)}`).join(" ||")} ))`];
  });
  return `(${parts.join(" || ")})`;
}
