import { readFileSync } from "node:fs";
import type { NamespaceObject, NetworkPolicyObject, PodObject } from "../../cluster/kube-objects.js";
import { InputError } from "../../errors.js";
import type { ByFamily } from "../../lab/cluster.js";
import {
  onePolicy,
  selectedPods,
  type DefaultDenyGroup,
  type PolicyCluster,
  type PolicyPod,
} from "../../lab/network-policy.js";
import { CtlBatch } from "../../lab/ovsdb-batch.js";
import type { NetworkPolicySpec } from "../../lab/scenario.js";
import { policyFromObject } from "../../lab/what-if.js";
import type { OvsdbDatabase, OvsdbRow } from "../../model/ovsdb.js";
import { parseIp } from "../../net/ip.js";
import {
  externalIds,
  readOvsdbFile,
  rowsByUuids,
  setColumn,
  stringColumn,
  tableRows,
} from "../../ovsdb/index.js";
import { DERIVED_ANNOTATION } from "../../snapshot/kubernetes-from-ovn.js";
import type { WhatIfReplica, WhatIfZone } from "./what-if-replica.js";

/**
 * A NetworkPolicy written into a what-if replica's NBs as ovnkube-controller writes it (the lab's writer,
 * network-policy.ts), from the snapshot's Kubernetes objects: what ovnkube-controller wrote for a policy of that
 * namespace and name goes first (by its external_ids), the namespace's default-deny port groups get the pods every
 * policy of their direction selects, and the rest of the NB stays as it was.
 */

type Direction = "Ingress" | "Egress";
const DIRECTIONS: readonly Direction[] = ["Ingress", "Egress"];

/** The snapshot's Kubernetes objects as writing and proposing a policy reads them. */
export interface SnapshotPolicies {
  /** Its wired pods (a logical switch port in some zone) and host-network pods; the policies it can read. */
  readonly cluster: PolicyCluster;
  /** `ns/name` of each policy what-if cannot read (matchExpressions, named ports, derived without rules): why. */
  readonly unreadable: ReadonlyMap<string, string>;
  /** The objects were derived from the OVN databases: pods have no labels, policies no rules. */
  readonly derived: boolean;
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The logical switch ports of every zone's NB. */
export function wiredPorts(nbs: readonly OvsdbDatabase[]): Set<string> {
  return new Set(
    nbs.flatMap((nb) =>
      tableRows(nb, "Logical_Switch_Port").flatMap((r) => {
        const name = stringColumn(r, "name");
        return name === undefined ? [] : [name];
      }),
    ),
  );
}

function policyPod(p: PodObject): PolicyPod | undefined {
  const namespace = p.metadata?.namespace;
  const name = p.metadata?.name;
  const node = p.spec?.nodeName;
  if (namespace === undefined || name === undefined || node === undefined) return undefined;
  const ips: ByFamily<string> = {};
  for (const { ip } of p.status?.podIPs ?? (p.status?.podIP ? [{ ip: p.status.podIP }] : [])) {
    const f = parseIp(ip)?.family;
    if (f !== undefined) ips[f] ??= ip;
  }
  return {
    namespace,
    name,
    node,
    hostNetwork: p.spec?.hostNetwork === true,
    ips,
    lsp: `${namespace}_${name}`,
    labels: p.metadata?.labels ?? {},
  };
}

export function snapshotPolicies(objects: readonly unknown[], wired: ReadonlySet<string>): SnapshotPolicies {
  const of = <T>(kind: string): T[] => objects.filter((o): o is T => (o as { kind?: unknown }).kind === kind);
  const pods = of<PodObject>("Pod").flatMap((p) => {
    const x = policyPod(p);
    return x !== undefined && (x.hostNetwork || wired.has(x.lsp)) ? [x] : [];
  });
  const unreadable = new Map<string, string>();
  const networkPolicies = of<NetworkPolicyObject>("NetworkPolicy").flatMap((o) => {
    const key = `${o.metadata?.namespace ?? "default"}/${o.metadata?.name ?? ""}`;
    try {
      return [policyFromObject(o, key)];
    } catch (e) {
      unreadable.set(key, why(e));
      return [];
    }
  });
  const families = [4, 6].filter((f) => pods.some((p) => !p.hostNetwork && p.ips[f as 4 | 6])) as (4 | 6)[];
  return {
    cluster: {
      families: families.length === 0 ? [4] : families,
      namespaces: of<NamespaceObject>("Namespace").map((n) => ({
        name: n.metadata?.name ?? "",
        labels: n.metadata?.labels ?? {},
      })),
      pods,
      networkPolicies,
    },
    unreadable,
    derived: of<PodObject>("Pod").some((p) => p.metadata?.annotations?.[DERIVED_ANNOTATION] !== undefined),
  };
}

type Selector = { readonly matchLabels?: Readonly<Record<string, string>> } | undefined;
/** The one label a derived Namespace has: its name. */
const NAME_LABEL = "kubernetes.io/metadata.name";
const namesLabels = (s: Selector, known: readonly string[]): boolean =>
  Object.keys(s?.matchLabels ?? {}).some((k) => !known.includes(k));

/** Refuses a policy whose selectors cannot be evaluated: derived pods have no labels, namespaces only their name. */
export function checkEvaluable(sp: SnapshotPolicies, np: NetworkPolicySpec): void {
  if (!sp.derived) return;
  const peers = [
    ...(np.ingress ?? []).flatMap((r) => r.from ?? []),
    ...(np.egress ?? []).flatMap((r) => r.to ?? []),
  ];
  if (
    namesLabels(np.podSelector, []) ||
    peers.some((p) => namesLabels(p.podSelector, []) || namesLabels(p.namespaceSelector, [NAME_LABEL]))
  )
    throw new InputError(
      `${np.namespace}/${np.name} selects by labels, and the snapshot has no pod labels nor namespace labels but their names (no kubernetes.json: its objects were derived from the OVN databases)`,
      { hint: "collect the snapshot with its Kubernetes objects: snapshot collect --cluster, or --k8s DIR" },
    );
}

const ids = (r: OvsdbRow): Readonly<Record<string, string>> => externalIds(r);
const owner = (r: OvsdbRow): string | undefined => ids(r)["k8s.ovn.org/owner-type"];

/** The names of a port group's logical switch ports. */
function members(nb: OvsdbDatabase, pg: OvsdbRow): Set<string> {
  return new Set(
    rowsByUuids(nb, "Logical_Switch_Port", setColumn(pg, "ports")).flatMap((r) => {
      const n = stringColumn(r, "name");
      return n === undefined ? [] : [n];
    }),
  );
}

/** Directions of a policy: its spec's, else its ACLs' (a policy without rules nor spec: both, kept as it is). */
function directionsOf(nb: OvsdbDatabase, pg: OvsdbRow, spec: unknown): Direction[] {
  if (typeof spec === "object" && spec !== null) {
    const s = spec as { policyTypes?: Direction[]; egress?: unknown[] };
    return (
      s.policyTypes ?? (s.egress !== undefined && s.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"])
    );
  }
  const found = new Set(
    rowsByUuids(nb, "ACL", setColumn(pg, "acls")).flatMap((a): Direction[] => {
      const d = ids(a).direction;
      return d === "Ingress" || d === "Egress" ? [d] : [];
    }),
  );
  return found.size === 0 ? [...DIRECTIONS] : [...found];
}

const same = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean =>
  a.size === b.size && [...a].every((x) => b.has(x));

/** What one zone's NB gets: the rows to remove first, then the batch that writes the policy. */
interface ZoneChange {
  readonly zone: WhatIfZone;
  readonly destroy: CtlBatch;
  readonly add: CtlBatch;
}

function zoneChange(
  zone: WhatIfZone,
  nb: OvsdbDatabase,
  sp: SnapshotPolicies,
  np: NetworkPolicySpec,
  objects: readonly unknown[],
): ZoneChange {
  const pgs = tableRows(nb, "Port_Group");
  const policyOf = (r: OvsdbRow): string | undefined =>
    owner(r) === "NetworkPolicy" ? ids(r)["k8s.ovn.org/name"] : undefined;
  const specOf = (key: string): unknown =>
    objects.find((o): o is NetworkPolicyObject => {
      const x = o as NetworkPolicyObject;
      return x.kind === "NetworkPolicy" && `${x.metadata?.namespace ?? ""}:${x.metadata?.name ?? ""}` === key;
    })?.spec;
  const key = `${np.namespace}:${np.name}`;
  const old = pgs.find((r) => policyOf(r) === key);
  const others = pgs.filter((r) => policyOf(r)?.startsWith(`${np.namespace}:`) === true && r !== old);
  const local = new Set(zone.nodes);
  const selected = new Set(
    selectedPods(sp.cluster, np)
      .filter((p) => local.has(p.node))
      .map((p) => p.lsp),
  );
  const newDirections = new Set<Direction>(np.policyTypes ?? (np.egress?.length ? DIRECTIONS : ["Ingress"]));
  const destroy = new CtlBatch();
  if (old !== undefined) destroy.add("destroy", "port_group", old.uuid);
  const groups: DefaultDenyGroup[] = [];
  for (const dir of DIRECTIONS) {
    const dd = pgs.find(
      (r) =>
        owner(r) === "NetpolNamespace" &&
        ids(r)["k8s.ovn.org/name"] === np.namespace &&
        ids(r).direction === dir,
    );
    const current = dd === undefined ? new Set<string>() : members(nb, dd);
    const stillIsolated = new Set(
      others
        .filter((r) => directionsOf(nb, r, specOf(policyOf(r) ?? "")).includes(dir))
        .flatMap((r) => [...members(nb, r)]),
    );
    const released =
      old !== undefined && directionsOf(nb, old, specOf(key)).includes(dir)
        ? [...members(nb, old)].filter((p) => !stillIsolated.has(p))
        : [];
    const next = new Set([...current].filter((p) => !released.includes(p)));
    if (newDirections.has(dir)) for (const p of selected) next.add(p);
    if (dd === undefined ? !newDirections.has(dir) : same(next, current)) continue;
    if (dd !== undefined) destroy.add("destroy", "port_group", dd.uuid);
    groups.push({ ns: np.namespace, dir, members: next });
  }
  const add = new CtlBatch();
  const addressSets = new Set(
    tableRows(nb, "Address_Set").flatMap((r) => {
      const n = stringColumn(r, "name");
      return n === undefined ? [] : [n];
    }),
  );
  onePolicy(sp.cluster, local, add, np, groups, addressSets);
  return { zone, destroy, add };
}

/**
 * Writes `np` into every zone of the replica, and waits until ovn-northd computed each SB: first the removal of
 * what the NB held for it (and of default-deny groups whose pods change), then, once northd removed their logical
 * flows, the new rows (in one transaction northd would keep the old flows of ACLs written again unchanged).
 */
export async function applyPolicy(
  replica: WhatIfReplica,
  sp: SnapshotPolicies,
  np: NetworkPolicySpec,
  objects: readonly unknown[],
): Promise<void> {
  checkEvaluable(sp, np);
  const changes = replica.zones.map((z) => {
    return zoneChange(z, readOvsdbFile(readFileSync(z.nbFile)), sp, np, objects);
  });
  const write = async (pick: (c: ZoneChange) => CtlBatch): Promise<void> => {
    let wrote = false;
    for (const c of changes) {
      const b = pick(c);
      if (b.size === 0) continue;
      for (const argv of b.argvChunks("ovn-nbctl")) await replica.nbctl(c.zone, argv.slice(1));
      wrote = true;
    }
    if (wrote) await replica.sync();
  };
  await write((c) => c.destroy);
  await write((c) => c.add);
}
