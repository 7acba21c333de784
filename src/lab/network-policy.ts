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

const matchesLabels = (labels: Readonly<Record<string, string>>, sel: LabelSelector | undefined): boolean =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

function nsLabels(c: LabCluster, ns: string): Record<string, string> {
  return { ...(c.namespaces.find((n) => n.name === ns)?.labels ?? {}), "kubernetes.io/metadata.name": ns };
}

export function selectedPods(c: LabCluster, np: NetworkPolicySpec): LabPod[] {
  return c.pods.filter(
    (p) => !p.hostNetwork && p.namespace === np.namespace && matchesLabels(p.labels, np.podSelector),
  );
}

function directions(np: NetworkPolicySpec): Direction[] {
  if (np.policyTypes !== undefined) return [...np.policyTypes];
  return np.egress !== undefined && np.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

/** Pods a peer selects, with the address-set key ovn-kubernetes would name it by. */
function peerPods(c: LabCluster, np: NetworkPolicySpec, peer: PolicyPeer): { key: string; pods: LabPod[] } {
  const pod = peer.podSelector;
  const ns = peer.namespaceSelector;
  const inNs = (p: LabPod): boolean =>
    ns === undefined ? p.namespace === np.namespace : matchesLabels(nsLabels(c, p.namespace), ns);
  const key =
    ns === undefined
      ? `${np.namespace}_${selectorString(pod?.matchLabels)}`
      : pod === undefined
        ? `${selectorString(ns.matchLabels)}_LNM`
        : `${selectorString(ns.matchLabels)}_${selectorString(pod.matchLabels)}`;
  return { key, pods: c.pods.filter((p) => !p.hostNetwork && inNs(p) && matchesLabels(p.labels, pod)) };
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

function addAcl(b: CtlBatch, pg: string, acl: AclSpec, n: number): void {
  const id = `@acl${n}`;
  b.add(
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
  b.add("add", "port_group", pg, "acls", id);
}

function addPortGroup(b: CtlBatch, ids: DbIds, lsps: readonly string[]): string {
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
export function networkPolicies(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch): void {
  const fams = c.families;
  let aclCount = 0;
  const addressSets = new Map<string, string>();
  const addressSet = (key: string, pods: readonly LabPod[], f: Family): string => {
    const ids: DbIds = {
      ownerType: "PodSelector",
      keys: [
        ["k8s.ovn.org/name", key],
        ["ip-family", `v${f}`],
      ],
    };
    const name = hashForOvn(dbId(ids));
    if (!addressSets.has(name)) {
      addressSets.set(name, key);
      const addrs = pods.flatMap((p) => (p.ips[f] === undefined ? [] : [p.ips[f]]));
      b.add(
        "create",
        "address_set",
        `name=${quote(name)}`,
        `addresses=[${addrs.map(quote).join(",")}]`,
        ...Object.entries(dbExternalIds(ids)).map(([k, v]) => kv("external_ids", k, v)),
      );
    }
    return name;
  };

  // Namespace default-deny groups hold every local pod selected by some policy of that direction.
  const denyMembers = new Map<string, { ns: string; dir: Direction; members: Set<string> }>();
  for (const np of c.networkPolicies) {
    for (const dir of directions(np)) {
      const key = `${np.namespace}/${dir}`;
      const entry = denyMembers.get(key) ?? { ns: np.namespace, dir, members: new Set<string>() };
      for (const p of selectedPods(c, np)) if (local.has(p.node)) entry.members.add(p.lsp);
      denyMembers.set(key, entry);
    }
  }
  for (const { ns, dir, members } of denyMembers.values()) {
    const pg = addPortGroup(
      b,
      {
        ownerType: "NetpolNamespace",
        keys: [
          ["k8s.ovn.org/name", ns],
          ["direction", dir],
        ],
      },
      [...members],
    );
    const port = dir === "Ingress" ? "outport" : "inport";
    const aclIds = (type: string): DbIds => ({
      ownerType: "NetpolNamespace",
      keys: [
        ["k8s.ovn.org/name", ns],
        ["direction", dir],
        ["type", type],
      ],
    });
    addAcl(
      b,
      pg,
      {
        ids: aclIds("defaultDeny"),
        name: `NP:${ns}:${dir}`,
        priority: 1000,
        action: "drop",
        dir,
        match: `${port} == @${pg}`,
      },
      aclCount++,
    );
    addAcl(
      b,
      pg,
      {
        ids: aclIds("arpAllow"),
        name: `NP:${ns}:${dir}`,
        priority: 1001,
        action: "allow",
        dir,
        match: `${port} == @${pg} && (arp || nd)`,
      },
      aclCount++,
    );
  }

  for (const np of c.networkPolicies) {
    const nameKey = `${np.namespace}:${np.name}`;
    const lsps = selectedPods(c, np)
      .filter((p) => local.has(p.node))
      .map((p) => p.lsp);
    const pg = addPortGroup(b, { ownerType: "NetworkPolicy", keys: [["k8s.ovn.org/name", nameKey]] }, lsps);
    for (const dir of directions(np)) {
      const rules =
        dir === "Ingress"
          ? (np.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
          : (np.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
      const portMatch = `${dir === "Ingress" ? "outport" : "inport"} == @${pg}`;
      for (const [gressIndex, rule] of rules.entries()) {
        const ports = rule.ports ?? [];
        const protocols: (Protocol | "None")[] =
          ports.length === 0 ? ["None"] : [...new Set(ports.map((p) => p.protocol ?? "TCP"))];
        const peers = rule.peers ?? [];
        const selectorPeers = peers.filter((p) => p.ipBlock === undefined);
        const blocks = peers.flatMap((p) => (p.ipBlock === undefined ? [] : [p.ipBlock]));
        // One L3 match per ACL: all selector peers together (ip-block-index -1), then each ipBlock.
        const l3: { index: number; match: string }[] = [];
        if (peers.length === 0) l3.push({ index: -1, match: familyMatch(fams) });
        if (selectorPeers.length > 0) {
          const perFamily = fams.map((f) => {
            const sets = selectorPeers.map((peer) => {
              const { key, pods } = peerPods(c, np, peer);
              return `$${addressSet(key, pods, f)}`;
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
            (block.except ?? []).length > 0
              ? ` && ${ipField(f, dir)} != {${(block.except ?? []).join(", ")}}`
              : "";
          l3.push({ index: i, match: `${ipField(f, dir)} == ${block.cidr}${except}` });
        }
        for (const proto of protocols) {
          const l4 =
            proto === "None"
              ? undefined
              : l4Match(
                  proto,
                  ports.filter((p) => (p.protocol ?? "TCP") === proto),
                );
          for (const { index, match } of l3) {
            addAcl(
              b,
              pg,
              {
                ids: {
                  ownerType: "NetworkPolicy",
                  keys: [
                    ["k8s.ovn.org/name", nameKey],
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
              },
              aclCount++,
            );
          }
        }
      }
    }
  }
}
