import type { ClusterBackend, CustomResource } from "../cluster/backend.js";
import type { KubeObject, NodeObject } from "../cluster/kube-objects.js";
import { backupScript } from "../cluster/node-databases.js";
import { InputError, OvnkTraceError } from "../errors.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { restorableFlows, restorableGroups } from "./flow-dump.js";
import {
  snapshotPaths,
  type SnapshotBridge,
  type SnapshotManifest,
  type SnapshotNode,
  type SnapshotRuntime,
  type SnapshotZone,
} from "./format.js";
import { withNewSnapshot } from "./sos-assemble.js";
import { clusterShapeOf } from "./sos-db.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import type { SnapshotWriter } from "./writer.js";
import { describeFailure, type ExecResult } from "../cluster/backend.js";
import { recordHostRoutes } from "./host-routes.js";

export interface CollectProgress {
  /** One node finished (ok or not): `done` of `total`. */
  node(name: string, status: SnapshotNode["status"], done: number, total: number): void;
  step(text: string): void;
}

export interface CollectOptions {
  readonly out: string;
  readonly source: { readonly kind: "cluster" | "lab"; readonly description: string };
  readonly progress?: CollectProgress;
  /** How many nodes are collected at once. */
  readonly parallel?: number;
}

const ZONE_ANNOTATION = "k8s.ovn.org/zone-name";

/** The kinds the tracer reads, with the apiVersion their list items lack on a real server. */
const KINDS = [
  ["Node", "v1"],
  ["Namespace", "v1"],
  ["Pod", "v1"],
  ["Service", "v1"],
  ["EndpointSlice", "discovery.k8s.io/v1"],
  ["NetworkPolicy", "networking.k8s.io/v1"],
] as const;

/** Custom resources collected where the cluster serves them (a cluster without their CRD has none). */
const CUSTOM_RESOURCES: readonly CustomResource[] = [
  {
    group: "policy.networking.k8s.io",
    version: "v1alpha1",
    plural: "adminnetworkpolicies",
    kind: "AdminNetworkPolicy",
    namespaced: false,
  },
  {
    group: "policy.networking.k8s.io",
    version: "v1alpha1",
    plural: "baselineadminnetworkpolicies",
    kind: "BaselineAdminNetworkPolicy",
    namespaced: false,
  },
  { group: "k8s.ovn.org", version: "v1", plural: "egressips", kind: "EgressIP", namespaced: false },
  {
    group: "k8s.ovn.org",
    version: "v1",
    plural: "egressfirewalls",
    kind: "EgressFirewall",
    namespaced: true,
  },
];

function list(b: ClusterBackend, kind: (typeof KINDS)[number][0]): Promise<KubeObject[]> {
  switch (kind) {
    case "Node":
      return b.listNodes();
    case "Namespace":
      return b.listNamespaces();
    case "Pod":
      return b.listPods(undefined);
    case "Service":
      return b.listServices(undefined);
    case "EndpointSlice":
      return b.listEndpointSlices(undefined);
    case "NetworkPolicy":
      return b.listNetworkPolicies(undefined);
  }
}

/** One node's OVS state, collected through the backend's exec (read-only commands only). */
class NodeCollector {
  readonly missing: string[] = [];
  readonly errors: string[] = [];

  constructor(
    private readonly b: ClusterBackend,
    private readonly w: SnapshotWriter,
    readonly name: string,
  ) {}

  private async exec(argv: readonly string[], timeoutMs = 60_000): Promise<ExecResult | undefined> {
    try {
      return await this.b.execOnNode(this.name, argv, { timeoutMs });
    } catch (e) {
      this.errors.push(e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }

  /** Runs argv and returns its output, or records `what` as missing. */
  private async output(what: string, argv: readonly string[]): Promise<string | undefined> {
    const r = await this.exec(argv);
    if (r === undefined) {
      this.missing.push(what);
      return undefined;
    }
    if (r.exitCode !== 0) {
      this.missing.push(what);
      this.errors.push(describeFailure(r));
      return undefined;
    }
    return r.stdout;
  }

  private async version(argv: readonly string[]): Promise<string | undefined> {
    const r = await this.exec(argv, 10_000);
    return r?.exitCode === 0 ? /\d+\.\d+\.\d+\S*/.exec(r.stdout)?.[0] : undefined;
  }

  private async bridge(br: string): Promise<SnapshotBridge> {
    const p = snapshotPaths;
    const [flows, groups, meters, tlv, fdb] = await Promise.all([
      this.output(`${br} flows`, [
        "ovs-ofctl",
        "-O",
        "OpenFlow15",
        "--no-stats",
        "--no-names",
        "dump-flows",
        br,
      ]),
      this.output(`${br} groups`, ["ovs-ofctl", "-O", "OpenFlow15", "--no-names", "dump-groups", br]),
      this.output(`${br} meters`, ["ovs-ofctl", "-O", "OpenFlow15", "dump-meters", br]),
      this.output(`${br} tlv-map`, ["ovs-ofctl", "dump-tlv-map", br]),
      this.output(`${br} fdb`, ["ovs-appctl", "fdb/show", br]),
    ]);
    const n = this.name;
    return {
      name: br,
      ...(flows === undefined ? {} : { flows: this.w.write(p.flows(n, br), restorableFlows(flows).text) }),
      ...(groups === undefined
        ? {}
        : { groups: this.w.write(p.groups(n, br), restorableGroups(groups).text) }),
      ...(meters === undefined ? {} : { meters: this.w.write(p.meters(n, br), meters) }),
      ...(tlv === undefined ? {} : { tlvMap: this.w.write(p.tlvMap(n, br), tlv) }),
      ...(fdb === undefined ? {} : { fdb: this.w.write(p.fdb(n, br), fdb) }),
    };
  }

  /** The host's routes and rules of each family, as one document (what OVN hands the host is routed by them). */
  private async hostRoutes(): Promise<string> {
    const read = (f: "-4" | "-6") =>
      Promise.all([
        this.output(`ip ${f} route`, ["ip", "-j", f, "route", "show", "table", "all"]),
        this.output(`ip ${f} rule`, ["ip", "-j", f, "rule", "show"]),
      ]).then(([routes, rules]) => ({
        ...(routes === undefined ? {} : { routes }),
        ...(rules === undefined ? {} : { rules }),
      }));
    const [ipv4, ipv6] = await Promise.all([read("-4"), read("-6")]);
    return recordHostRoutes({ ipv4, ipv6 });
  }

  async collect(zone: string): Promise<SnapshotNode> {
    const p = snapshotPaths;
    const n = this.name;
    const [ovsVersion, ovnVersion, confDb, brList, dpif, routes, neigh, links, kernel] = await Promise.all([
      this.version(["ovs-vsctl", "--version"]),
      this.version(["ovn-controller", "--version"]),
      this.output("conf.db", ["ovsdb-client", "backup", "Open_vSwitch"]),
      this.output("bridge list", ["ovs-vsctl", "list-br"]),
      this.output("dpif/show", ["ovs-appctl", "dpif/show"]),
      this.output("ovs/route/show", ["ovs-appctl", "ovs/route/show"]),
      this.output("tnl/neigh/show", ["ovs-appctl", "tnl/neigh/show"]),
      this.output("ip link", ["ip", "-j", "link"]),
      this.hostRoutes(),
    ]);
    const bridges = await Promise.all(
      (brList ?? "")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .map((br) => this.bridge(br)),
    );
    const runtime: SnapshotRuntime = {
      ...(dpif === undefined ? {} : { dpifShow: this.w.write(p.dpifShow(n), dpif) }),
      ...(routes === undefined ? {} : { routes: this.w.write(p.routes(n), routes) }),
      ...(neigh === undefined ? {} : { tunnelNeighbors: this.w.write(p.tunnelNeighbors(n), neigh) }),
      ...(links === undefined ? {} : { ipLink: this.w.write(p.ipLink(n), links) }),
      hostRoutes: this.w.write(p.hostRoutes(n), kernel),
    };
    const usable = confDb !== undefined && bridges.some((b) => b.flows !== undefined);
    return {
      name: n,
      zone,
      status: !usable ? "failed" : this.missing.length > 0 ? "partial" : "complete",
      ...(this.errors.length === 0 ? {} : { error: this.errors.join("; ") }),
      ...(ovsVersion === undefined ? {} : { ovsVersion }),
      ...(ovnVersion === undefined ? {} : { ovnVersion }),
      ...(confDb === undefined ? {} : { confDb: this.w.write(p.confDb(n), confDb) }),
      bridges,
      runtime,
      missing: this.missing,
    };
  }
}

/** Runs `f` over `items`, at most `limit` at a time, keeping their order. */
async function pool<T, R>(items: readonly T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The NB or SB of a zone, read through the first of its nodes that can. */
async function zoneDb(
  b: ClusterBackend,
  nodes: readonly string[],
  db: "NB" | "SB",
  problems: string[],
): Promise<{ readonly text: string; readonly db: OvsdbDatabase } | undefined> {
  const why: string[] = [];
  for (const node of nodes) {
    try {
      const r = await b.execOnNode(node, ["sh", "-c", backupScript(db)], { timeoutMs: 120_000 });
      if (r.exitCode === 0) return { text: r.stdout, db: readOvsdbFile(Buffer.from(r.stdout, "utf8")) };
      why.push(`${node}: ${describeFailure(r)}`);
    } catch (e) {
      why.push(`${node}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  problems.push(`no ${db} database could be read (${why.join("; ")})`);
  return undefined;
}

/**
 * Collects a snapshot from a live cluster or the lab: Kubernetes objects through the API, per node
 * (in parallel) the OVS database, flows, groups, meters and tlv-maps of every bridge and the runtime
 * state no database holds, and each zone's NB and SB. Only read-only commands run on the nodes.
 */
export async function collectFromBackend(b: ClusterBackend, o: CollectOptions): Promise<SnapshotManifest> {
  return withNewSnapshot(o.out, (w) => collect(b, o, w));
}

async function collect(b: ClusterBackend, o: CollectOptions, w: SnapshotWriter): Promise<SnapshotManifest> {
  const problems: string[] = [];
  o.progress?.step("Kubernetes objects");
  const items: KubeObject[] = [];
  let nodes: NodeObject[] = [];
  for (const [kind, apiVersion] of KINDS) {
    try {
      const objects = await list(b, kind);
      if (kind === "Node") nodes = objects;
      items.push(...objects.map((x) => ({ ...x, kind, apiVersion })));
    } catch (e) {
      if (kind === "Node") throw e;
      problems.push(`${kind} objects not collected: ${e instanceof OvnkTraceError ? e.message : String(e)}`);
    }
  }
  for (const r of b.listCustomObjects === undefined ? [] : CUSTOM_RESOURCES) {
    try {
      const objects = (await b.listCustomObjects?.(r)) ?? [];
      items.push(...objects.map((x) => ({ ...x, kind: r.kind, apiVersion: `${r.group}/${r.version}` })));
    } catch (e) {
      problems.push(
        `${r.kind} objects not collected: ${e instanceof OvnkTraceError ? e.message : String(e)}`,
      );
    }
  }
  if (nodes.length === 0) throw new InputError("the cluster has no nodes");
  const kubernetes = w.write(
    snapshotPaths.kubernetes,
    JSON.stringify({ apiVersion: "v1", kind: "List", items }),
  );

  const names = nodes.map((n) => n.metadata?.name ?? "").filter((n) => n !== "");
  const zoneOf = new Map(
    nodes.map((n) => [n.metadata?.name ?? "", n.metadata?.annotations?.[ZONE_ANNOTATION] ?? "global"]),
  );
  let done = 0;
  const collected = await pool(names, o.parallel ?? 8, async (name) => {
    const r = await new NodeCollector(b, w, name).collect(zoneOf.get(name) ?? "global");
    o.progress?.node(name, r.status, ++done, names.length);
    return r;
  });

  o.progress?.step("OVN databases");
  const zoneNames = [...new Set(collected.map((n) => n.zone))];
  const read = await Promise.all(
    zoneNames.map(async (zone) => {
      const members = collected.filter((n) => n.zone === zone).map((n) => n.name);
      const [nb, sb] = await Promise.all([
        zoneDb(b, members, "NB", problems),
        zoneDb(b, members, "SB", problems),
      ]);
      return { zone, nb, sb };
    }),
  );
  const zones: SnapshotZone[] = read.map(({ zone, nb, sb }) => ({
    name: zone,
    ...(nb === undefined ? {} : { nb: w.write(snapshotPaths.nb(zone), nb.text) }),
    ...(sb === undefined ? {} : { sb: w.write(snapshotPaths.sb(zone), sb.text) }),
    missing: [...(nb === undefined ? ["NB"] : []), ...(sb === undefined ? ["SB"] : [])],
  }));
  for (const n of collected)
    if (n.status !== "complete")
      problems.push(
        `node ${n.name}: ${n.status}${n.missing.length > 0 ? `, missing ${n.missing.join(", ")}` : ""}`,
      );
  return w.finish({
    source: o.source,
    shape: clusterShapeOf(
      read.map(({ zone, nb, sb }) => ({
        name: zone,
        ...(nb === undefined ? {} : { nb: nb.db }),
        ...(sb === undefined ? {} : { sb: sb.db }),
      })),
    ),
    zones,
    nodes: collected,
    kubernetes: { file: kubernetes, source: o.source.kind === "lab" ? "lab" : "api", objects: items.length },
    problems,
  });
}
