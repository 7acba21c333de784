import type { OvsdbDatabase } from "../model/ovsdb.js";
import { hostPort, parseIp } from "../net/ip.js";
import { mapColumn, options, stringColumn, tableRows } from "../ovsdb/index.js";

/**
 * Hairpin: a load balancer that picks the sender itself. OVN sends the packet back out of the sender's port with
 * its source translated to the load balancer's `hairpin_snat_ip` of that family (ovn-kubernetes sets one per
 * family), or to the VIP when there is none. ofproto/trace cannot show it: the hairpin check matches the
 * connection's original tuple, which its simulated conntrack does not have. Pure.
 */
export function hairpinSource(
  nb: OvsdbDatabase,
  vip: { readonly ip: string; readonly port: number },
): { readonly ip: string; readonly loadBalancer?: string } {
  const family = parseIp(vip.ip)?.family;
  const key = hostPort(vip.ip, vip.port);
  const lb = tableRows(nb, "Load_Balancer").find((row) => Object.hasOwn(mapColumn(row, "vips"), key));
  if (lb === undefined) return { ip: vip.ip };
  const name = stringColumn(lb, "name") ?? lb.uuid;
  const configured = (options(lb).hairpin_snat_ip ?? "")
    .split(/\s+/)
    .find((ip) => ip !== "" && parseIp(ip)?.family === family);
  return { ip: configured ?? vip.ip, loadBalancer: name };
}
