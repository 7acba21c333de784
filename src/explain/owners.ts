import type { KubeObjectRef } from "../model/report.js";
import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import { externalIds, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { egressIPNatMeaning, egressIPPolicyMeaning } from "./egress-ip.js";
import { egressFirewallRef, egressFirewallRuleOf, egressFirewallRuleText } from "./egress-firewall.js";
import { adminPolicyRef, adminPolicyRuleOf, adminPolicyRuleText } from "../parsers/admin-policy-acl.js";

/**
 * What an OVN object is in Kubernetes terms, from the names and external_ids ovn-kubernetes gives it
 * (reference/anchors.md (c); pkg/libovsdb/ops/db_object_types.go): ACL → NetworkPolicy, namespace default
 * deny, (Baseline)AdminNetworkPolicy, EgressFirewall; Load_Balancer → Service; LSP → Pod; `GR_<node>`,
 * `ext_<node>` → the node's gateway; SNAT → the node's IP or an EgressIP. Pure; an object without
 * ovn-kubernetes names or external_ids gets no Kubernetes meaning (undefined), never a guess.
 */

export interface KubeMeaning {
  /** What it is, for a human ("NetworkPolicy default/allow-8080, ingress rule 0"). */
  readonly text: string;
  readonly objects: readonly KubeObjectRef[];
}

const node = (name: string): KubeObjectRef => ({ kind: "Node", name });

/** Splits `<ns>_<rest>` / `<ns>:<rest>` / `<ns>/<rest>` (namespaces hold none of these characters). */
function splitNamespaced(s: string, sep: string): [string, string] | undefined {
  const i = s.indexOf(sep);
  return i <= 0 ? undefined : [s.slice(0, i), s.slice(i + sep.length)];
}

// --- datapaths and logical ports, by ovn-kubernetes' names -------------------------------------------

/** A logical switch or router by its ovn-kubernetes name; `nodes` are the names known to be nodes. */
export function datapathMeaning(
  name: string,
  kind: "switch" | "router" | undefined,
  nodes: ReadonlySet<string>,
): KubeMeaning | undefined {
  const gr = /^GR_(.+)$/.exec(name)?.[1];
  if (gr !== undefined) return { text: `gateway router of node ${gr}`, objects: [node(gr)] };
  const ext = /^ext_(.+)$/.exec(name)?.[1];
  if (ext !== undefined) return { text: `external switch of node ${ext}`, objects: [node(ext)] };
  if (name === "ovn_cluster_router") return { text: "the cluster router", objects: [] };
  if (name === "join")
    return { text: "the join switch, between the cluster router and the gateway routers", objects: [] };
  if (name === "transit_switch") return { text: "the transit switch between zones", objects: [] };
  if (kind !== "router" && nodes.has(name))
    return { text: `pod switch of node ${name}`, objects: [node(name)] };
  return undefined;
}

/** The pod a logical switch port stands for (LSP external_ids namespace and pod=true, name `<ns>_<pod>`). */
export function podOfLsp(lsp: OvsdbRow): KubeObjectRef | undefined {
  const ids = externalIds(lsp);
  const name = stringColumn(lsp, "name") ?? "";
  const ns = ids.namespace;
  if (ids.pod !== "true" || ns === undefined || !name.startsWith(`${ns}_`)) return undefined;
  return { kind: "Pod", namespace: ns, name: name.slice(ns.length + 1) };
}

/** What ovn-kubernetes means by the infrastructure ports it names after a node. */
export function portNameMeaning(name: string): KubeMeaning | undefined {
  const rules: [RegExp, (n: string) => string][] = [
    [/^k8s-(.+)$/, (n) => `management port of node ${n}, its host network`],
    [/^stor-(.+)$/, (n) => `port of node ${n}'s pod switch towards the cluster router`],
    [/^rtos-(.+)$/, (n) => `cluster router port on node ${n}'s pod switch`],
    [/^tstor-(.+)$/, (n) => `transit switch port towards node ${n}`],
    [/^rtots-(.+)$/, (n) => `cluster router port of node ${n} on the transit switch`],
    [/^(?:jtor|rtoj)-GR_(.+)$/, (n) => `join port of the gateway router of node ${n}`],
    [/^(?:etor|rtoe)-GR_(.+)$/, (n) => `external port of the gateway router of node ${n}`],
    [/^breth0_(.+)$/, (n) => `uplink (localnet breth0) of node ${n}`],
  ];
  for (const [re, text] of rules) {
    const n = re.exec(name)?.[1];
    if (n !== undefined) return { text: text(n), objects: [node(n)] };
  }
  if (name === "jtor-ovn_cluster_router" || name === "rtoj-ovn_cluster_router")
    return { text: "join port of the cluster router", objects: [] };
  return undefined;
}

// --- NB rows -------------------------------------------------------------------------------------------

/** What ovn-kubernetes records in an ACL's external_ids: the kind and name of its owner, and its direction. */
export interface AclOwner {
  readonly ids: Readonly<Record<string, string>>;
  /** `k8s.ovn.org/owner-type`: NetworkPolicy, NetpolNamespace, AdminNetworkPolicy...; undefined for plain OVN. */
  readonly owner: string | undefined;
  readonly name: string;
  /** "ingress" or "egress" ("" when not recorded). */
  readonly dir: string;
}

export function aclOwner(acl: OvsdbRow): AclOwner {
  const ids = externalIds(acl);
  return {
    ids,
    owner: ids["k8s.ovn.org/owner-type"],
    name: ids["k8s.ovn.org/name"] ?? "",
    dir: (ids.direction ?? "").toLowerCase(),
  };
}

/** The ovn-kubernetes owner of an ACL, with the rule it implements. */
export function aclMeaning(acl: OvsdbRow): KubeMeaning | undefined {
  const { ids, owner, name, dir } = aclOwner(acl);
  const rule = (key: string): string => (ids[key] === undefined ? "" : ` rule ${ids[key]}`);
  switch (owner) {
    case undefined:
      return undefined;
    case "NetworkPolicy": {
      const [ns = "", pol = ""] = splitNamespaced(name, ":") ?? [];
      return {
        text: `NetworkPolicy ${ns}/${pol}, ${dir}${rule("gress-index")}`,
        objects: [{ kind: "NetworkPolicy", namespace: ns, name: pol }],
      };
    }
    case "NetpolNamespace": {
      const what = ids.type === "arpAllow" ? "ARP/ND allow" : "default deny";
      return {
        text: `${dir} ${what} of namespace ${name} (pods selected by a NetworkPolicy)`,
        objects: [{ kind: "Namespace", name }],
      };
    }
    case "AdminNetworkPolicy":
    case "BaselineAdminNetworkPolicy": {
      const r = adminPolicyRuleOf(acl);
      return r === undefined ? undefined : { text: adminPolicyRuleText(r), objects: [adminPolicyRef(r)] };
    }
    case "EgressFirewall": {
      const r = egressFirewallRuleOf(acl, undefined);
      return r === undefined
        ? undefined
        : { text: egressFirewallRuleText(r), objects: [egressFirewallRef(r)] };
    }
    case "NetpolNode":
      return {
        text: `allow from node ${name} (its management port)`,
        objects: name === "" ? [] : [node(name)],
      };
    case "UDNIsolation":
      return {
        text: `UDN isolation ${name}, ${dir}: the default-network interface of pods on a primary user-defined network`,
        objects: [],
      };
    default:
      return { text: `${owner} ${name}`.trim(), objects: [] };
  }
}

/** The Service a load balancer implements (`k8s.ovn.org/kind=Service`, `k8s.ovn.org/owner=<ns>/<name>`). */
export function loadBalancerMeaning(lb: OvsdbRow): KubeMeaning | undefined {
  const ids = externalIds(lb);
  const owner = ids["k8s.ovn.org/owner"];
  if (owner === undefined || (ids["k8s.ovn.org/kind"] ?? "Service") !== "Service") return undefined;
  const [ns = "", name = ""] = splitNamespaced(owner, "/") ?? [];
  return { text: `Service ${ns}/${name}`, objects: [{ kind: "Service", namespace: ns, name }] };
}

/**
 * A NAT row: an EgressIP's (owner-type EgressIP, name `<egressip>_<ns>/<pod>`), or, on a node's gateway
 * router, the SNAT of pod traffic to the node's IP.
 */
export function natMeaning(nb: OvsdbDatabase, nat: OvsdbRow): KubeMeaning | undefined {
  const ip = stringColumn(nat, "external_ip") ?? "";
  const egressIP = egressIPNatMeaning(nb, nat);
  if (egressIP !== undefined) return egressIP;
  const router = tableRows(nb, "Logical_Router").find((r) => setColumn(r, "nat").includes(nat.uuid));
  const gr = router === undefined ? undefined : /^GR_(.+)$/.exec(stringColumn(router, "name") ?? "")?.[1];
  if (gr === undefined) return undefined;
  const type = stringColumn(nat, "type") ?? "snat";
  return {
    text:
      type === "snat"
        ? `the IP of node ${gr}: SNAT by its gateway router GR_${gr}`
        : `${type} ${ip} on the gateway router of node ${gr}`,
    objects: [node(gr)],
  };
}

/** An NB row a logical flow's stage-hint points at, in Kubernetes terms when ovn-kubernetes owns it. */
export function nbRowMeaning(nb: OvsdbDatabase, row: OvsdbRow): KubeMeaning | undefined {
  switch (row.table) {
    case "ACL":
      return aclMeaning(row);
    case "Load_Balancer":
      return loadBalancerMeaning(row);
    case "NAT":
      return natMeaning(nb, row);
    case "Logical_Switch_Port": {
      const pod = podOfLsp(row);
      const name = stringColumn(row, "name") ?? "";
      if (pod !== undefined) return { text: `pod ${pod.namespace ?? ""}/${pod.name}`, objects: [pod] };
      return portNameMeaning(name);
    }
    case "Logical_Router_Port":
      return portNameMeaning(stringColumn(row, "name") ?? "");
    case "Logical_Router_Policy":
      return egressIPPolicyMeaning(nb, row);
    default:
      return undefined;
  }
}
