import type { OvnDatabases, OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import type { KubeObjectRef } from "../model/report.js";
import type { OfprotoTraceDocument } from "../model/ofproto-trace.js";
import { tableSteps } from "../parsers/ofproto-trace.js";
import { externalIds, rowsByUuids, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { egressFirewallRef, egressFirewallRuleOf, egressFirewallRuleText } from "./egress-firewall.js";
import { rowByCookie, uuidPrefixOf } from "./ovn-index.js";
import { aclMeaning, aclOwner } from "./owners.js";
import { udnIsolationDrop } from "./udn-isolation.js";
import {
  adminPolicyRef,
  adminPolicyRuleOf,
  adminPolicyRuleText,
  adminPolicyVerb,
} from "../parsers/admin-policy-acl.js";

/**
 * Why OVN dropped a packet, in Kubernetes terms: the OpenFlow cookie (or the logical flow uuid)
 * → SB Logical_Flow → its stage-hint → the NB ACL → the ovn-kubernetes owner in its external_ids
 * (NetworkPolicy, namespace default deny, AdminNetworkPolicy, EgressFirewall...). Pure: it reads
 * the zone's databases, it runs nothing.
 */

/** Logical ports of the packet's sender and receiver (when they are pods). */
export interface PodsOfPacket {
  readonly src?: string;
  readonly dst?: string;
}

export interface DropExplanation {
  /** One sentence a Kubernetes user can act on. */
  readonly text: string;
  readonly objects: readonly KubeObjectRef[];
  readonly logicalFlow?: {
    readonly uuid: string;
    readonly stage: string;
    readonly pipeline: string;
    readonly match: string;
    readonly actions: string;
  };
  readonly acl?: {
    readonly uuid: string;
    readonly name?: string;
    readonly match: string;
    readonly action: string;
    readonly priority: number;
  };
}

function describeAcl(
  nb: OvsdbDatabase,
  acl: OvsdbRow,
  pods: PodsOfPacket,
): { text: string; objects: KubeObjectRef[] } {
  const { ids, owner, name, dir } = aclOwner(acl);
  // ingress rules protect the receiver, egress rules the sender
  const podLsp = dir === "egress" ? pods.src : pods.dst;
  const target = podLsp === undefined ? "" : ` ${podLsp.replace("_", "/")}`;
  switch (owner) {
    case "NetpolNamespace": {
      // The namespace's default deny exists because NetworkPolicies select the pod: name them and what they allow.
      const policies = policiesSelecting(nb, podLsp, dir);
      const allowed = policies.flatMap((p) => p.allows);
      const by = policies.length === 0 ? "" : ` of NetworkPolicy ${policies.map((p) => p.name).join(", ")}`;
      const allows =
        allowed.length === 0
          ? ""
          : `, which only allow${policies.length === 1 ? "s" : ""} ${allowed.join("; ")}`;
      return {
        text: `denied by the ${dir} default deny${by}${allows} (namespace ${name}${target === "" ? "" : `, pod${target}`})`,
        objects: [
          { kind: "Namespace", name },
          ...policies.map((p): KubeObjectRef => ({
            kind: "NetworkPolicy",
            namespace: p.name.split("/")[0] ?? "",
            name: p.name.split("/")[1] ?? "",
          })),
        ],
      };
    }
    case "NetworkPolicy": {
      const [ns = "", pol = ""] = name.split(":");
      return {
        text: `matched by ${dir} rule ${ids["gress-index"] ?? "?"} of NetworkPolicy ${ns}/${pol}`,
        objects: [{ kind: "NetworkPolicy", namespace: ns, name: pol }],
      };
    }
    case "AdminNetworkPolicy":
    case "BaselineAdminNetworkPolicy": {
      const r = adminPolicyRuleOf(acl);
      if (r === undefined) break;
      return { text: `${adminPolicyVerb(r)} ${adminPolicyRuleText(r)}`, objects: [adminPolicyRef(r)] };
    }
    case "EgressFirewall": {
      const r = egressFirewallRuleOf(acl, nb);
      if (r === undefined) break;
      return { text: `denied by ${egressFirewallRuleText(r)}`, objects: [egressFirewallRef(r)] };
    }
    case "UDNIsolation":
      return udnIsolationDrop(nb, acl, podLsp);
  }
  const aclName = stringColumn(acl, "name") ?? acl.uuid.slice(0, 8);
  const by = owner === undefined ? " (no ovn-kubernetes owner)" : ` owned by ${owner} ${name}`;
  return { text: `denied by ACL ${aclName} (${stringColumn(acl, "match") ?? ""})${by}`, objects: [] };
}

/** NetworkPolicies (their port groups) that hold the pod's logical port, with what their allow ACLs let in or out. */
function policiesSelecting(
  nb: OvsdbDatabase,
  podLsp: string | undefined,
  dir: string,
): { name: string; allows: string[] }[] {
  if (podLsp === undefined) return [];
  const lsp = tableRows(nb, "Logical_Switch_Port").find((r) => stringColumn(r, "name") === podLsp);
  if (lsp === undefined) return [];
  return tableRows(nb, "Port_Group")
    .filter(
      (pg) =>
        externalIds(pg)["k8s.ovn.org/owner-type"] === "NetworkPolicy" &&
        setColumn(pg, "ports").includes(lsp.uuid),
    )
    .map((pg) => {
      const [ns = "", name = ""] = (externalIds(pg)["k8s.ovn.org/name"] ?? "").split(":");
      const allows = rowsByUuids(nb, "ACL", setColumn(pg, "acls"))
        .filter((a) => aclOwner(a).dir === dir)
        .map((a) => summarizeMatch(stringColumn(a, "match") ?? ""));
      return { name: `${ns}/${name}`, allows };
    });
}

/** "ip4 && tcp && tcp.dst==8080 && outport == @a…" → "TCP 8080" (the part a Kubernetes user wrote). */
function summarizeMatch(match: string): string {
  const proto = /\b(tcp|udp|sctp)\b/.exec(match)?.[1];
  const ports = /\b(?:tcp|udp|sctp)\.dst\s*==\s*(\{[^}]*\}|\d+)/.exec(match)?.[1];
  const range = /(\d+)\s*<=\s*(?:tcp|udp|sctp)\.dst\s*<=\s*(\d+)/.exec(match);
  const peers = /ip[46]\.(src|dst) == (\{[^}]*\}|[0-9a-f.:/]+)/.exec(match);
  const what =
    proto === undefined
      ? "all ports"
      : `${proto.toUpperCase()} ${range ? `${range[1] ?? ""}-${range[2] ?? ""}` : (ports ?? "any port")}`;
  if (peers === null) return what;
  const who = (peers[2] ?? "").startsWith("{$") ? "the selected pods" : (peers[2] ?? "");
  return `${what} ${peers[1] === "src" ? "from" : "to"} ${who}`;
}

/**
 * Where a packet was dropped: the OpenFlow cookie (or logical flow uuid) of the step that dropped it, and those
 * of the steps before it in trace order, which tiered ACLs need.
 */
export interface DropSite {
  readonly cookie?: string;
  readonly lflowUuid?: string;
  readonly earlier?: readonly string[];
}

/** The cookies of an ofproto/trace's table steps before its last one, every pass, in trace order. */
export function cookiesBeforeLast(doc: OfprotoTraceDocument | undefined): string[] {
  const steps = (doc?.passes ?? []).flatMap((p) => tableSteps(p.bridges));
  return steps.slice(0, -1).flatMap((s) => s.cookie ?? []);
}

/**
 * OVN 23.06 and later evaluate ACLs in `*_acl_eval` stages, tier after tier (the flow of each ACL carries its
 * stage-hint), and act on the verdict in `*_acl_action`, whose drop flow is shared by every ACL: the ACL that
 * decided a drop there is the last drop or reject ACL evaluated before it; pass ACLs sent the packet on to
 * the next tier. Undefined when the stage is not an ACL action stage.
 */
function evaluatedAcls(
  dbs: OvnDatabases,
  stage: string,
  earlier: readonly string[],
): { decided: OvsdbRow | undefined; passes: OvsdbRow[] } | undefined {
  const base = /^(.+_acl(?:_after_lb)?)_action$/.exec(stage)?.[1];
  if (base === undefined) return undefined;
  const acls = earlier.flatMap((key) => {
    const flow = rowByCookie(dbs.sb, ["Logical_Flow"], key);
    const ids = flow === undefined ? {} : externalIds(flow);
    const hint = ids["stage-hint"];
    if (ids["stage-name"] !== `${base}_eval` || hint === undefined) return [];
    return rowByCookie(dbs.nb, ["ACL"], hint) ?? [];
  });
  const action = (a: OvsdbRow): string => stringColumn(a, "action") ?? "";
  return {
    decided: acls.filter((a) => action(a) === "drop" || action(a) === "reject").at(-1),
    passes: acls.filter((a) => action(a) === "pass"),
  };
}

/**
 * Explains a drop from the OpenFlow cookie of the step that dropped (or the logical flow uuid of an
 * ovn-trace drop), with the logical port the packet was going to or coming from.
 */
export function explainDrop(
  dbs: OvnDatabases,
  where: DropSite,
  pods: PodsOfPacket,
): DropExplanation | undefined {
  const key = where.cookie ?? where.lflowUuid;
  if (key === undefined) return undefined;
  const lflow = rowByCookie(dbs.sb, ["Logical_Flow"], key);
  if (lflow === undefined)
    return {
      text: `no logical flow with uuid ${uuidPrefixOf(key)}… in the southbound database (cookie ${key})`,
      objects: [],
    };
  const ids = externalIds(lflow);
  const lf = {
    uuid: lflow.uuid,
    stage: ids["stage-name"] ?? "",
    pipeline: stringColumn(lflow, "pipeline") ?? "",
    match: stringColumn(lflow, "match") ?? "",
    actions: stringColumn(lflow, "actions") ?? "",
  };
  const hint = ids["stage-hint"];
  const tiered = hint === undefined ? evaluatedAcls(dbs, lf.stage, where.earlier ?? []) : undefined;
  const acl = hint === undefined ? tiered?.decided : rowByCookie(dbs.nb, ["ACL"], hint);
  if (acl === undefined) {
    return {
      text: `dropped by logical flow ${lf.stage} (${lf.match})${hint === undefined ? "" : `, stage hint ${hint} not found in the northbound database`}`,
      objects: [],
      logicalFlow: lf,
    };
  }
  const d = describeAcl(dbs.nb, acl, pods);
  const passes = (tiered?.passes ?? []).map((p) => aclMeaning(p)?.text ?? stringColumn(p, "name") ?? p.uuid);
  return {
    ...d,
    ...(passes.length === 0 ? {} : { text: `${d.text} (after the pass of ${passes.join("; ")})` }),
    logicalFlow: lf,
    acl: {
      uuid: acl.uuid,
      ...(stringColumn(acl, "name") === undefined ? {} : { name: stringColumn(acl, "name") }),
      match: stringColumn(acl, "match") ?? "",
      action: stringColumn(acl, "action") ?? "",
      priority: Number(acl.columns.priority ?? 0),
    },
  };
}
