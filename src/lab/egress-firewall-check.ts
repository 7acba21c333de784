import { parseCidr, parseIp } from "../net/ip.js";
import type { DnsRecordSpec, EgressFirewallSpec } from "./egress-firewall-scenario.js";

/**
 * What the EgressFirewall CRD and ovnkube-controller refuse that a schema cannot see: a second EgressFirewall in a
 * namespace, more rules than the priorities leave room for, a CIDR or DNS name that does not parse, a port out of
 * range; and DNS records that name a name twice or hold something that is not an address. Each problem as
 * [field, message].
 */

/** ovn-kubernetes' EgressFirewallStartPriority - MinimumReservedEgressFirewallPriority (and the CRD's maxItems). */
const MAX_RULES = 8000;
/** The CRD's dnsName pattern, without the wildcard form (it needs the DNSNameResolver feature the lab does not model). */
const DNS_NAME = /^([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+\.?$/;

export function egressFirewallProblems(
  efs: readonly EgressFirewallSpec[],
  records: readonly DnsRecordSpec[],
): [string, string][] {
  const out: [string, string][] = [];
  const namespaces = new Set<string>();
  for (const [i, ef] of efs.entries()) {
    const f = `egressFirewalls[${String(i)}]`;
    if (namespaces.has(ef.namespace))
      out.push([
        `${f}.namespace`,
        `namespace "${ef.namespace}" has an EgressFirewall already (one per namespace)`,
      ]);
    namespaces.add(ef.namespace);
    if (ef.egress.length > MAX_RULES) out.push([`${f}.egress`, `more than ${String(MAX_RULES)} rules`]);
    for (const [j, rule] of ef.egress.entries()) {
      const r = `${f}.egress[${String(j)}]`;
      if ("cidrSelector" in rule.to && parseCidr(rule.to.cidrSelector) === undefined)
        out.push([`${r}.to.cidrSelector`, `"${rule.to.cidrSelector}" is not a CIDR`]);
      if ("dnsName" in rule.to && !DNS_NAME.test(rule.to.dnsName))
        out.push([`${r}.to.dnsName`, `"${rule.to.dnsName}" is not a DNS name (wildcards are not modelled)`]);
      for (const [k, p] of (rule.ports ?? []).entries())
        if (p.port !== undefined && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535))
          out.push([`${r}.ports[${String(k)}].port`, `${String(p.port)} is not a port (1-65535)`]);
    }
  }
  const names = new Set<string>();
  for (const [i, rec] of records.entries()) {
    const f = `dnsRecords[${String(i)}]`;
    if (names.has(rec.name)) out.push([`${f}.name`, `"${rec.name}" is listed already`]);
    names.add(rec.name);
    for (const [k, a] of rec.addresses.entries())
      if (parseIp(a) === undefined) out.push([`${f}.addresses[${String(k)}]`, `"${a}" is not an IP address`]);
  }
  return out;
}
