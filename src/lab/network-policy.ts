import type { Family } from "../net/ip.js";
import type { LabCluster, LabPod } from "./cluster.js";
import { CtlBatch, kv, quote } from "./ovsdb-batch.js";
import { dbExternalIds, hashForOvn, dbId, selectorString, type DbIds } from "./ovnk-names.js";
import type { LabelSelector, NetworkPolicySpec, PolicyPeer, PolicyPort, Protocol } from "./scenario.js";

/**
 * NetworkPolicies as ovn-kubernetes writes them (base_network_controller_policy.go, gress_policy.go):
 * a port group per policy holding the selected local pods, a namespace default-deny port group per
 * direction (drop at 1000, ARP/ND allowed at 1001), one allow-related ACL per rule and protocol at
 * 1001, and address sets (one per family) for selector peers; logging off. (ovn-kubernetes also sets
 * ACL tier 2, a column OVN 23.03's NB schema does not have yet.)
 */

type Direction = "Ingress" | "Egress";

/** What writing a policy reads of a pod (a lab's, or one of a snapshot's Kubernetes objects). */
export type PolicyPod = Pick<
  LabPod,
  "namespace" | "name" | "node" | "hostNetwork" | "ips" | "lsp" | "labels"
>;

/** What writing policies reads of a cluster. */
export interface PolicyCluster extends Pick<LabCluster, "families" | "namespaces" | "networkPolicies"> {
  readonly pods: readonly PolicyPod[];
}

const matchesLabels = (labels: Readonly<Record<string, string>>, sel: LabelSelector | undefined): boolean =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/**
 * What the policies of a cluster select, worked out once per cluster and shared by its zones (an interconnect
 * lab writes every policy into every zone: without it a 100-node lab spent minutes here): the pods of each
 * namespace, each namespace's labels, and the pods each policy and peer selects.
 */
interface Selections {
  readonly podsByNamespace: Map<string, PolicyPod[]>;
  readonly nsLabels: Map<string, Record<string, string>>;
  readonly selected: Map<NetworkPolicySpec, PolicyPod[]>;
  /** By peer, then by the policy's namespace. */
  readonly peers: Map<PolicyPeer, Map<string, { key: string; pods: PolicyPod[] }>>;
}
const selectionsOf = new WeakMap<PolicyCluster, Selections>();

function selections(c: PolicyCluster): Selections {
  let s = selectionsOf.get(c);
  if (s === undefined) {
    const podsByNamespace = new Map<string, PolicyPod[]>();
    for (const p of c.pods) {
      if (p.hostNetwork) continue;
      const list = podsByNamespace.get(p.namespace);
      if (list === undefined) podsByNamespace.set(p.namespace, [p]);
      else list.push(p);
    }
    const nsLabels = new Map<string, Record<string, string>>();
    for (const ns of new Set([...c.namespaces.map((n) => n.name), ...podsByNamespace.keys()]))
      nsLabels.set(ns, {
        ...(c.namespaces.find((n) => n.name === ns)?.labels ?? {}),
        "kubernetes.io/metadata.name": ns,
      });
    s = { podsByNamespace, nsLabels, selected: new Map(), peers: new Map() };
    selectionsOf.set(c, s);
  }
  return s;
}

function nsLabels(c: PolicyCluster, ns: string): Record<string, string> {
  return selections(c).nsLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns };
}

/** The (not hostNetwork) pods of the policy's namespace its podSelector matches, in scenario order. */
export function selectedPods(c: PolicyCluster, np: NetworkPolicySpec): PolicyPod[] {
  const s = selections(c);
  let pods = s.selected.get(np);
  if (pods === undefined) {
    pods = (s.podsByNamespace.get(np.namespace) ?? []).filter((p) => matchesLabels(p.labels, np.podSelector));
    s.selected.set(np, pods);
  }
  return pods;
}

function directions(np: NetworkPolicySpec): Direction[] {
  if (np.policyTypes !== undefined) return [...np.policyTypes];
  return np.egress !== undefined && np.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

/** Pods a peer selects (in scenario order), with the address-set key ovn-kubernetes would name it by. */
function peerPods(
  c: PolicyCluster,
  np: NetworkPolicySpec,
  peer: PolicyPeer,
): { key: string; pods: PolicyPod[] } {
  const s = selections(c);
  const byNs = s.peers.get(peer) ?? new Map<string, { key: string; pods: PolicyPod[] }>();
  s.peers.set(peer, byNs);
  const known = byNs.get(np.namespace);
  if (known !== undefined) return known;
  const pod = peer.podSelector;
  const ns = peer.namespaceSelector;
  const inNs = (p: PolicyPod): boolean =>
    ns === undefined ? p.namespace === np.namespace : matchesLabels(nsLabels(c, p.namespace), ns);
  const key =
    ns === undefined
      ? `${np.namespace}_${selectorString(pod?.matchLabels)}`
      : pod === undefined
        ? `${selectorString(ns.matchLabels)}_LNM`
        : `${selectorString(ns.matchLabels)}_${selectorString(pod.matchLabels)}`;
  const candidates = ns === undefined ? (s.podsByNamespace.get(np.namespace) ?? []) : c.pods;
  const found = {
    key,
    pods: candidates.filter((p) => !p.hostNetwork && inNs(p) && matchesLabels(p.labels, pod)),
  };
  byNs.set(np.namespace, found);
  return found;
}

const familyMatch = (fams: readonly Family[]): string =>
  fams.length === 2 ? "(ip4 || ip6)" : fams[0] === 6 ? "ip6" : "ip4";
const ipField = (f: Family, dir: Direction): string => `ip${f}.${dir === "Ingress" ? "src" : "dst"}`;

function l4Match(protocol: string, ports: readonly PolicyPort[]): string {
  const p = protocol.toLowerCase();
  const singles = ports
    .filter((x) => x.port !== undefined && x.endPort === undefined)
    .map((x) => String(x.port));
  const ranges = ports.filter((x) => x.port !== undefined && x.endPort !== undefined);
  if (ports.some((x) => x.port === undefined)) return p;
  const parts = [
    ...(singles.length === 1
      ? [`${p}.dst==${singles[0] ?? ""}`]
      : singles.length > 1
        ? [`${p}.dst=={${singles.join(",")}}`]
        : []),
    ...ranges.map((x) => `${x.port ?? 0}<=${p}.dst<=${x.endPort ?? 0}`),
  ];
  return parts.length === 1 ? `${p} && ${parts[0] ?? ""}` : `${p} && (${parts.join(" || ")})`;
}

interface AclSpec {
  readonly ids: DbIds;
  readonly name: string;
  readonly priority: number;
  readonly action: string;
  readonly dir: Direction;
  readonly match: string;
}

/** A zone's NB batch, with what must be unique in it: the ACL ids (@acl<n>) and the address sets. */
export class PolicyBatch {
  private aclCount = 0;
  private readonly addressSets: Set<string>;

  /** `existing`: address sets already in the NB (shared by selector: written again, they would clash). */
  constructor(
    readonly b: CtlBatch,
    existing: ReadonlySet<string> = new Set(),
  ) {
    this.addressSets = new Set(existing);
  }

  addAcl(pg: string, acl: AclSpec): void {
    const id = `@acl${this.aclCount++}`;
    this.b.add(
      `--id=${id}`,
      "create",
      "acl",
      `name=${quote(acl.name.slice(0, 63))}`,
      `priority=${acl.priority}`,
      `direction=${acl.dir === "Ingress" ? "to-lport" : "from-lport"}`,
      `match=${quote(acl.match)}`,
      `action=${acl.action}`,
      "log=false",
      ...Object.entries(dbExternalIds(acl.ids)).map(([k, v]) => kv("external_ids", k, v)),
      ...(acl.dir === "Egress" ? [kv("options", "apply-after-lb", "true")] : []),
    );
    this.b.add("add", "port_group", pg, "acls", id);
  }

  /** The address set of a selector peer's pods of one family, created the first time it is named. */
  addressSet(key: string, pods: readonly PolicyPod[], f: Family): string {
    const ids: DbIds = {
      ownerType: "PodSelector",
      keys: [
        ["k8s.ovn.org/name", key],
        ["ip-family", `v${f}`],
      ],
    };
    const name = hashForOvn(dbId(ids));
    if (!this.addressSets.has(name)) {
      this.addressSets.add(name);
      const addrs = pods.flatMap((p) => (p.ips[f] === undefined ? [] : [p.ips[f]]));
      this.b.add(
        "create",
        "address_set",
        `name=${quote(name)}`,
        `addresses=[${addrs.map(quote).join(",")}]`,
        ...Object.entries(dbExternalIds(ids)).map(([k, v]) => kv("external_ids", k, v)),
      );
    }
    return name;
  }
}

export function addPortGroup(b: CtlBatch, ids: DbIds, lsps: readonly string[]): string {
  const name = hashForOvn(dbId(ids));
  b.add("pg-add", name, ...lsps);
  b.add(
    "set",
    "port_group",
    name,
    ...Object.entries(dbExternalIds(ids)).map(([k, v]) => kv("external_ids", k, v)),
  );
  return name;
}

/** Adds the port groups, address sets and ACLs of every NetworkPolicy to a zone's NB batch. */
export function networkPolicies(c: PolicyCluster, local: ReadonlySet<string>, b: CtlBatch): void {
  const batch = new PolicyBatch(b);
  for (const group of defaultDenyGroups(c, local)) addDefaultDeny(batch, group);
  for (const np of c.networkPolicies) addPolicy(c, local, batch, np);
}

export interface DefaultDenyGroup {
  readonly ns: string;
  readonly dir: Direction;
  /** Logical switch ports of the local pods. */
  readonly members: Set<string>;
}

/**
 * One policy's port group, address sets and ACLs, and default-deny groups given with their members, added to a
 * zone's NB batch (`what-if` on a snapshot's replica: the rest of the NB stays as ovnkube-controller wrote it).
 */
export function onePolicy(
  c: PolicyCluster,
  local: ReadonlySet<string>,
  b: CtlBatch,
  np: NetworkPolicySpec,
  defaultDeny: readonly DefaultDenyGroup[],
  existingAddressSets: ReadonlySet<string>,
): void {
  const batch = new PolicyBatch(b, existingAddressSets);
  for (const group of defaultDeny) addDefaultDeny(batch, group);
  addPolicy(c, local, batch, np);
}

/** A namespace's default-deny group of a direction holds every local pod some policy of that direction selects. */
function defaultDenyGroups(c: PolicyCluster, local: ReadonlySet<string>): Iterable<DefaultDenyGroup> {
  const groups = new Map<string, DefaultDenyGroup>();
  for (const np of c.networkPolicies) {
    for (const dir of directions(np)) {
      const key = `${np.namespace}/${dir}`;
      const entry = groups.get(key) ?? { ns: np.namespace, dir, members: new Set<string>() };
      for (const p of selectedPods(c, np)) if (local.has(p.node)) entry.members.add(p.lsp);
      groups.set(key, entry);
    }
  }
  return groups.values();
}

function addDefaultDeny(batch: PolicyBatch, { ns, dir, members }: DefaultDenyGroup): void {
  const keys: DbIds["keys"] = [
    ["k8s.ovn.org/name", ns],
    ["direction", dir],
  ];
  const pg = addPortGroup(batch.b, { ownerType: "NetpolNamespace", keys }, [...members]);
  const port = dir === "Ingress" ? "outport" : "inport";
  const aclIds = (type: string): DbIds => ({ ownerType: "NetpolNamespace", keys: [...keys, ["type", type]] });
  batch.addAcl(pg, {
    ids: aclIds("defaultDeny"),
    name: `NP:${ns}:${dir}`,
    priority: 1000,
    action: "drop",
    dir,
    match: `${port} == @${pg}`,
  });
  batch.addAcl(pg, {
    ids: aclIds("arpAllow"),
    name: `NP:${ns}:${dir}`,
    priority: 1001,
    action: "allow",
    dir,
    match: `${port} == @${pg} && (arp || nd)`,
  });
}

/** An ingress or egress rule of a policy, with its peers under one name. */
interface GressRule {
  readonly dir: Direction;
  /** Its position among the policy's rules of that direction. */
  readonly index: number;
  readonly peers: readonly PolicyPeer[];
  readonly ports: readonly PolicyPort[];
}

function gressRules(np: NetworkPolicySpec): GressRule[] {
  return directions(np).flatMap((dir): GressRule[] =>
    dir === "Ingress"
      ? (np.ingress ?? []).map((r, index) => ({ dir, index, peers: r.from ?? [], ports: r.ports ?? [] }))
      : (np.egress ?? []).map((r, index) => ({ dir, index, peers: r.to ?? [], ports: r.ports ?? [] })),
  );
}

/** The policy's port group of its local pods, and the ACLs of its rules. */
function addPolicy(
  c: PolicyCluster,
  local: ReadonlySet<string>,
  batch: PolicyBatch,
  np: NetworkPolicySpec,
): void {
  const lsps = selectedPods(c, np)
    .filter((p) => local.has(p.node))
    .map((p) => p.lsp);
  const ids: DbIds = {
    ownerType: "NetworkPolicy",
    keys: [["k8s.ovn.org/name", `${np.namespace}:${np.name}`]],
  };
  const pg = addPortGroup(batch.b, ids, lsps);
  for (const rule of gressRules(np)) addRuleAcls(c, np, batch, pg, rule);
}

/** One allow-related ACL per protocol of the rule's ports and L3 match of its peers. */
function addRuleAcls(
  c: PolicyCluster,
  np: NetworkPolicySpec,
  batch: PolicyBatch,
  pg: string,
  rule: GressRule,
): void {
  const { dir, index: gressIndex, ports } = rule;
  const portMatch = `${dir === "Ingress" ? "outport" : "inport"} == @${pg}`;
  const protocols: (Protocol | "None")[] =
    ports.length === 0 ? ["None"] : [...new Set(ports.map((p) => p.protocol ?? "TCP"))];
  const l3 = l3Matches(c, np, batch, dir, rule.peers);
  for (const proto of protocols) {
    const l4 =
      proto === "None"
        ? undefined
        : l4Match(
            proto,
            ports.filter((p) => (p.protocol ?? "TCP") === proto),
          );
    for (const { index, match } of l3) {
      batch.addAcl(pg, {
        ids: {
          ownerType: "NetworkPolicy",
          keys: [
            ["k8s.ovn.org/name", `${np.namespace}:${np.name}`],
            ["direction", dir],
            ["gress-index", String(gressIndex)],
            ["port-policy-protocol", proto === "None" ? "None" : proto.toLowerCase()],
            ["ip-block-index", String(index)],
          ],
        },
        name: `NP:${np.namespace}:${np.name}:${dir}:${gressIndex}`,
        priority: 1001,
        action: "allow-related",
        dir,
        match: [match, ...(l4 === undefined ? [] : [l4]), portMatch].join(" && "),
      });
    }
  }
}

/** One L3 match per ACL: all selector peers together (ip-block-index -1), then each ipBlock. */
function l3Matches(
  c: PolicyCluster,
  np: NetworkPolicySpec,
  batch: PolicyBatch,
  dir: Direction,
  peers: readonly PolicyPeer[],
): { index: number; match: string }[] {
  const fams = c.families;
  const selectorPeers = peers.filter((p) => p.ipBlock === undefined);
  const blocks = peers.flatMap((p) => (p.ipBlock === undefined ? [] : [p.ipBlock]));
  const l3: { index: number; match: string }[] = [];
  if (peers.length === 0) l3.push({ index: -1, match: familyMatch(fams) });
  if (selectorPeers.length > 0) {
    const perFamily = fams.map((f) => {
      const sets = selectorPeers.map((peer) => {
        const { key, pods } = peerPods(c, np, peer);
        return `$${batch.addressSet(key, pods, f)}`;
      });
      return `${ipField(f, dir)} == {${[...new Set(sets)].sort().join(", ")}}`;
    });
    l3.push({
      index: -1,
      match: perFamily.length === 1 ? (perFamily[0] ?? "") : `(${perFamily.join(" || ")})`,
    });
  }
  for (const [i, block] of blocks.entries()) {
    const f: Family = block.cidr.includes(":") ? 6 : 4;
    const except =
      (block.except ?? []).length > 0 ? ` && ${ipField(f, dir)} != {${(block.except ?? []).join(", ")}}` : "";
    l3.push({ index: i, match: `${ipField(f, dir)} == ${block.cidr}${except}` });
  }
  return l3;
}
