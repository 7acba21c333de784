import { join } from "node:path";

/**
 * The on-disk format of a snapshot directory. Every collector (cluster, lab, sos report, loose
 * files) writes this layout; the replica and the snapshot backend only read it.
 *
 *   manifest.json                     SnapshotManifest
 *   kubernetes.json                   {"kind":"List","items":[...]} (optional)
 *   zones/<zone>/ovnnb_db.db          standalone OVSDB file (clustered ones are converted)
 *   zones/<zone>/ovnsb_db.db
 *   nodes/<node>/conf.db              the Open_vSwitch database
 *   nodes/<node>/<bridge>.flows       flows restorable by `ovs-ofctl -O OpenFlow15 --bundle replace-flows`
 *   nodes/<node>/<bridge>.groups      `group_id=...` lines for `ovs-ofctl -O OpenFlow15 add-groups`
 *   nodes/<node>/<bridge>.meters      `ovs-ofctl -O OpenFlow15 dump-meters` as printed
 *   nodes/<node>/<bridge>.tlv-map     `ovs-ofctl dump-tlv-map` as printed
 *   nodes/<node>/<bridge>.fdb         `ovs-appctl fdb/show` (MAC learning: NORMAL floods without it)
 *   nodes/<node>/dpif-show.txt        `ovs-appctl dpif/show`
 *   nodes/<node>/ovs-route-show.txt   `ovs-appctl ovs/route/show`
 *   nodes/<node>/tnl-neigh-show.txt   `ovs-appctl tnl/neigh/show`
 *   nodes/<node>/ip-link.json         `ip -j link` (UDN VRF table ids)
 */
export const SNAPSHOT_FORMAT = "ovnkube-trace-snapshot";
export const SNAPSHOT_VERSION = 1;

export type SnapshotSourceKind = "cluster" | "lab" | "sos" | "files";

/** What one bridge of a node has in the snapshot (paths relative to the snapshot directory). */
export interface SnapshotBridge {
  readonly name: string;
  readonly flows?: string;
  readonly groups?: string;
  readonly meters?: string;
  readonly tlvMap?: string;
  readonly fdb?: string;
}

/** Runtime state that no database holds (paths relative to the snapshot directory). */
export interface SnapshotRuntime {
  readonly dpifShow?: string;
  readonly routes?: string;
  readonly tunnelNeighbors?: string;
  readonly ipLink?: string;
  /** The node's kernel routes and rules (src/snapshot/host-routes.ts): what `ip route get` is answered from. */
  readonly hostRoutes?: string;
}

export interface SnapshotNode {
  /** The Kubernetes node name (= the chassis hostname). */
  readonly name: string;
  /** The zone whose NB/SB this node's ovn-controller reads ("global" in a central cluster). */
  readonly zone: string;
  /** complete: everything collected; partial: some parts missing (see `missing`); failed: nothing usable. */
  readonly status: "complete" | "partial" | "failed";
  /** Why the node failed or what went wrong, as the user should read it. */
  readonly error?: string;
  readonly ovsVersion?: string;
  readonly ovnVersion?: string;
  readonly confDb?: string;
  readonly bridges: readonly SnapshotBridge[];
  readonly runtime: SnapshotRuntime;
  /** Human names of the parts that could not be collected ("br-int groups", "conf.db"...). */
  readonly missing: readonly string[];
}

export interface SnapshotZone {
  readonly name: string;
  readonly nb?: string;
  readonly sb?: string;
  readonly missing: readonly string[];
}

export interface SnapshotFile {
  readonly bytes: number;
  readonly sha256: string;
}

export interface SnapshotManifest {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof SNAPSHOT_VERSION;
  readonly createdAt: string;
  readonly source: { readonly kind: SnapshotSourceKind; readonly description: string };
  readonly shape: "central" | "interconnect";
  readonly zones: readonly SnapshotZone[];
  readonly nodes: readonly SnapshotNode[];
  /** Where the Kubernetes objects came from; absent when the snapshot has none (names come from OVN). */
  readonly kubernetes?: {
    readonly file: string;
    readonly source: "api" | "lab" | "kubectl" | "must-gather";
    readonly objects: number;
  };
  /** Every file of the snapshot (relative path → size and SHA-256), manifest excluded. */
  readonly files: Readonly<Record<string, SnapshotFile>>;
  /** Problems met while collecting, one sentence each. */
  readonly problems: readonly string[];
}

export const snapshotPaths = {
  manifest: "manifest.json",
  kubernetes: "kubernetes.json",
  nb: (zone: string) => join("zones", zone, "ovnnb_db.db"),
  sb: (zone: string) => join("zones", zone, "ovnsb_db.db"),
  nodeDir: (node: string) => join("nodes", node),
  confDb: (node: string) => join("nodes", node, "conf.db"),
  flows: (node: string, bridge: string) => join("nodes", node, `${bridge}.flows`),
  groups: (node: string, bridge: string) => join("nodes", node, `${bridge}.groups`),
  meters: (node: string, bridge: string) => join("nodes", node, `${bridge}.meters`),
  tlvMap: (node: string, bridge: string) => join("nodes", node, `${bridge}.tlv-map`),
  fdb: (node: string, bridge: string) => join("nodes", node, `${bridge}.fdb`),
  dpifShow: (node: string) => join("nodes", node, "dpif-show.txt"),
  routes: (node: string) => join("nodes", node, "ovs-route-show.txt"),
  tunnelNeighbors: (node: string) => join("nodes", node, "tnl-neigh-show.txt"),
  ipLink: (node: string) => join("nodes", node, "ip-link.json"),
  hostRoutes: (node: string) => join("nodes", node, "host-routes.json"),
} as const;
