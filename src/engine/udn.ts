/*
 * `ovnkube-trace -dump-udn-vrf-table-ids`, as the Go tool does it.
 *
 * Sources (ovn-kubernetes, identical in ovn-org/ovn-kubernetes@04fa7e43 and
 * openshift/ovn-kubernetes@4f966c94):
 * - go-controller/cmd/ovnkube-trace/udn.go, findUserDefinedNetworkVRFTableIDs:
 *   - lists all Nodes; per node reads annotation `k8s.ovn.org/network-ids`, a JSON object
 *     network name → network id as a decimal STRING, e.g. {"default":"0","ns1_blue":"2"}.
 *     No annotation: the node has no networks and prints as `{}` (not an error). Unparsable JSON
 *     (or non-string values): error. The "default" network is dropped.
 *   - per UDN: `ip -j link` (through `bash -c`) in container "ovnkube-controller" of the node's
 *     ovnkube-node pod (label app=ovnkube-node, spec.nodeName=<node>); unmarshals [{ifname, ifindex}].
 *     A failing exec or unparsable output is an error. A network id that strconv.Atoi rejects is an
 *     error ("unpexpected networkID").
 *   - the network's management link is util.GetNetworkScopedK8sMgmtHostIntfName(id) (go-controller/pkg/util):
 *     types.K8sMgmtIntfNamePrefix "ovn-k8s-mp" (go-controller/pkg/types/const.go) + decimal id, cut to
 *     15 characters (Linux IFNAMSIZ - 1).
 *   - table id = util.CalculateRouteTableID(link ifindex) = ifindex + routingTableIDStart (1000)
 *     (go-controller/pkg/util). A network whose link is absent on the node is left out.
 *   - main() in go-controller/cmd/ovnkube-trace/ovnkube-trace.go prints json.Marshal(map[node]map[network]uint)
 *     with fmt.Println: compact, keys sorted (docs/troubleshooting/udn.md shows the shape
 *     {"ovn-control-plane": {"net-blue": 1, "net-red": 2}, "ovn-worker": {...}}).
 * - Network names in the annotation are NAD network names: "<namespace>_<udn>" for a
 *   UserDefinedNetwork, "cluster_udn_<name>" for a ClusterUserDefinedNetwork (util.GenerateUDNNetworkName,
 *   GenerateCUDNNetworkName); cluster-manager writes the annotation as json.Marshal of map[string]string,
 *   the default network as "default": "0" (util.UpdateNetworkIDAnnotation, go-controller/pkg/util/node_annotations.go).
 * Older versions differ: one ran `ip -j link show dev <GetSecondaryNetworkPrefix(name)>ovn-k8s-mp0` and
 * printed the raw ifindex; newer ones make the 1000 configurable (config.OvnKubeNode.RoutingTableIDStart).
 * Differences here: `ip -j link` runs once per node (the Go tool runs it once per network; same answer),
 * and nodes are asked in parallel.
 */
import type { ClusterBackend } from "../cluster/backend.js";
import type { NodeObject } from "../cluster/kube-objects.js";
import { describeFailure } from "../cluster/backend.js";
import { mgmtLinkName } from "../cluster/mgmt-link.js";
import { ParseError, ProcessError } from "../errors.js";

export const NETWORK_IDS_ANNOTATION = "k8s.ovn.org/network-ids";
export const DEFAULT_NETWORK_NAME = "default";
const ROUTING_TABLE_ID_START = 1000;

/** node name → network name → VRF routing table id. */
export type UdnVrfTableIds = Record<string, Record<string, number>>;

/** ovn-kubernetes' CalculateRouteTableID: the VRF table of a network is its mgmt link's ifindex + 1000. */
export function routeTableId(ifindex: number): number {
  return ifindex + ROUTING_TABLE_ID_START;
}

/** The user-defined networks of a node (name → id) from its network-ids annotation; none without it. */
export function udnNetworkIds(node: NodeObject): Map<string, number> {
  const nodeName = node.metadata?.name ?? "?";
  const text = node.metadata?.annotations?.[NETWORK_IDS_ANNOTATION];
  const out = new Map<string, number>();
  if (text === undefined) return out;
  const what = `node ${nodeName}: annotation ${NETWORK_IDS_ANNOTATION}`;
  const value = parseJson(text, what);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ParseError(`${what} is not a JSON object`, { line: 1, excerpt: text });
  for (const [name, id] of Object.entries(value as Record<string, unknown>)) {
    if (typeof id !== "string")
      throw new ParseError(`${what}: id of network "${name}" is not a string`, { line: 1, excerpt: text });
    // Go unmarshals every id as a string but converts only the user-defined networks' ones.
    if (name === DEFAULT_NETWORK_NAME) continue;
    if (!/^[+-]?\d+$/.test(id) || !Number.isSafeInteger(Number(id)) || Number(id) < 0)
      throw new ParseError(`${what}: unexpected network id "${id}" of network "${name}"`, {
        line: 1,
        excerpt: text,
      });
    out.set(name, Number(id));
  }
  return out;
}

export interface IpLink {
  readonly ifname: string;
  readonly ifindex: number;
}

/** The links of `ip -j link` output (name and index; everything else is ignored, as the Go tool does). */
export function parseIpJsonLinks(text: string, what = "ip -j link output"): IpLink[] {
  const value = parseJson(text, what);
  if (!Array.isArray(value))
    throw new ParseError(`${what} is not a JSON array of links`, { line: 1, excerpt: text });
  return value.map((entry: unknown, i): IpLink => {
    const o = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const { ifname, ifindex } = o;
    if (
      typeof ifname !== "string" ||
      typeof ifindex !== "number" ||
      !Number.isSafeInteger(ifindex) ||
      ifindex < 0
    )
      throw new ParseError(`${what}: link ${i} has no ifname/ifindex`, {
        line: 1,
        excerpt: JSON.stringify(entry),
      });
    return { ifname, ifindex };
  });
}

function parseJson(text: string, what: string): unknown {
  if (text.trim() === "") throw new ParseError(`${what} is empty`, {});
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const pos = /position (\d+)/.exec((e as Error).message);
    const at = pos === null ? 0 : Number(pos[1]);
    const line = text.slice(0, at).split("\n").length;
    throw new ParseError(
      `${what} is not JSON`,
      { line, excerpt: text.split("\n")[line - 1] ?? text },
      { cause: e },
    );
  }
}

async function nodeTableIds(backend: ClusterBackend, node: NodeObject): Promise<Record<string, number>> {
  const networks = udnNetworkIds(node);
  if (networks.size === 0) return {};
  const name = node.metadata?.name ?? "";
  const r = await backend.execOnNode(name, ["ip", "-j", "link"]);
  if (r.exitCode !== 0 || r.timedOut)
    throw new ProcessError(`node ${name}: cannot list its links: ${describeFailure(r)}`);
  const links = parseIpJsonLinks(r.stdout, `node ${name}: ip -j link output`);
  const out: Record<string, number> = {};
  for (const [network, id] of sortedEntries(networks)) {
    const link = links.find((l) => l.ifname === mgmtLinkName(id));
    if (link !== undefined) out[network] = routeTableId(link.ifindex);
  }
  return out;
}

const sortedEntries = <V>(m: ReadonlyMap<string, V>): [string, V][] =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * For every node, the VRF routing table id of each user-defined network whose management link is on
 * that node (what `ovnkube-trace -dump-udn-vrf-table-ids` prints).
 */
export async function dumpUdnVrfTableIds(backend: ClusterBackend): Promise<UdnVrfTableIds> {
  const nodes = await backend.listNodes();
  const perNode = await Promise.all(nodes.map((n) => nodeTableIds(backend, n)));
  const byName = new Map(nodes.map((n, i) => [n.metadata?.name ?? "", perNode[i] ?? {}]));
  return Object.fromEntries(sortedEntries(byName));
}

/** The dump as the Go tool prints it (json.Marshal: compact, map keys sorted, <>& escaped), no newline. */
export function formatUdnVrfTableIds(ids: UdnVrfTableIds): string {
  const obj = (m: Record<string, unknown>, value: (v: unknown) => string): string =>
    `{${sortedEntries(new Map(Object.entries(m)))
      .map(([k, v]) => `${goString(k)}:${value(v)}`)
      .join(",")}}`;
  return obj(ids, (v) => obj(v as Record<string, unknown>, (n) => String(n)));
}

function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
