import type { OvnDatabases, OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import type { KubeObjectRef } from "../model/report.js";
import { externalIds, rowsByUuids, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { rowByCookie, uuidPrefixOf } from "./ovn-index.js";
import { aclOwner } from "./owners.js";

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
    case "BaselineAdminNetworkPolicy":
      return {
        text: `denied by ${owner} ${name}${ids["rule-index"] === undefined ? "" : ` rule ${ids["rule-index"]}`}`,
        objects: [{ kind: owner, name }],
      };
    case "EgressFirewall":
      return {
        text: `denied by the EgressFirewall of namespace ${name}`,
        objects: [{ kind: "EgressFirewall", namespace: name, name: "default" }],
      };
    default: {
      const aclName = stringColumn(acl, "name") ?? acl.uuid.slice(0, 8);
      const by = owner === undefined ? " (no ovn-kubernetes owner)" : ` owned by ${owner} ${name}`;
      return { text: `denied by ACL ${aclName} (${stringColumn(acl, "match") ?? ""})${by}`, objects: [] };
    }
  }
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
 * Explains a drop from the OpenFlow cookie of the step that dropped (or the logical flow uuid of an
 * ovn-trace drop), with the logical port the packet was going to or coming from.
 */
export function explainDrop(
  dbs: OvnDatabases,
  where: { cookie?: string; lflowUuid?: string },
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
  const acl = hint === undefined ? undefined : rowByCookie(dbs.nb, ["ACL"], hint);
  if (acl === undefined) {
    return {
      text: `dropped by logical flow ${lf.stage} (${lf.match})${hint === undefined ? "" : `, stage hint ${hint} not found in the northbound database`}`,
      objects: [],
      logicalFlow: lf,
    };
  }
  const d = describeAcl(dbs.nb, acl, pods);
  return {
    ...d,
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
