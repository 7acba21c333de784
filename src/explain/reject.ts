import type { OvnDatabases } from "../model/ovsdb.js";
import type { KubeObjectRef, L4Protocol } from "../model/report.js";
import { hostPort } from "../net/ip.js";
import { externalIds, stringColumn } from "../ovsdb/index.js";
import { localPolicyEmpty } from "./local-traffic-policy.js";
import { rowByCookie } from "./ovn-index.js";
import { nbRowMeaning } from "./owners.js";

/**
 * A packet handed to ovn-controller by a logical flow that rejects it: OVN answers the sender itself (a TCP
 * RST|ACK, or an ICMP port unreachable) instead of forwarding the packet. ovn-kubernetes makes its Service load
 * balancers reject when they have no endpoints (`options:reject=true`), and reject-action policies too. Pure.
 */

export interface RejectExplanation {
  /** OVN's words: the logical flow that rejects. */
  readonly reason: string;
  /** In Kubernetes terms, with the answer the sender gets. */
  readonly explanation: string;
  readonly objects: readonly KubeObjectRef[];
}

/** The answer a reject sends back, as the sender sees it. */
const answerOf = (protocol: L4Protocol): string =>
  protocol === "tcp"
    ? "a TCP RST|ACK"
    : protocol === "udp"
      ? "an ICMP port unreachable"
      : "an ICMP unreachable";

/**
 * Why the flow with `cookie` rejects the packet sent to `to`, or undefined when that flow does not reject (the
 * packet-in is for something else: ARP resolution, an ICMP error, a DNS lookup). `node`: where it is rejected.
 */
export function explainReject(
  dbs: OvnDatabases,
  cookie: string,
  to: { readonly ip: string; readonly port?: number },
  protocol: L4Protocol,
  node?: string,
): RejectExplanation | undefined {
  const lflow = rowByCookie(dbs.sb, ["Logical_Flow"], cookie);
  const actions = lflow === undefined ? "" : (stringColumn(lflow, "actions") ?? "");
  if (lflow === undefined || !/\breject\b/.test(actions)) return undefined;
  const ids = externalIds(lflow);
  const reason = `logical flow ${ids["stage-name"] ?? "?"} (${stringColumn(lflow, "match") ?? ""}) rejects`;
  const hint = ids["stage-hint"];
  const row = hint === undefined ? undefined : rowByCookie(dbs.nb, ["Load_Balancer", "ACL"], hint);
  const meaning = row === undefined ? undefined : nbRowMeaning(dbs.nb, row);
  const answer = `${answerOf(protocol)} from ${hostPort(to.ip, protocol === "icmp" ? undefined : to.port)}`;
  if (row?.table === "Load_Balancer") {
    const lb = stringColumn(row, "name") ?? row.uuid;
    const who = meaning?.text ?? `load balancer ${lb}`;
    const local = to.port === undefined ? undefined : localPolicyEmpty(dbs.nb, row, hostPort(to.ip, to.port));
    if (local !== undefined)
      return {
        reason,
        explanation: `${who} has ${local.policy}=Local and no ready endpoint on ${node ?? "this node"} (${String(local.endpointsElsewhere)} on other nodes): its load balancer ${lb} rejects the connection and the client gets ${answer}`,
        objects: meaning?.objects ?? [],
      };
    return {
      reason,
      explanation: `${who} has no ready endpoints: its load balancer ${lb} rejects the connection and the client gets ${answer}`,
      objects: meaning?.objects ?? [],
    };
  }
  return {
    reason,
    explanation: `${meaning?.text ?? "a logical flow without a Kubernetes owner"} rejects it: the sender gets ${answer}`,
    objects: meaning?.objects ?? [],
  };
}
