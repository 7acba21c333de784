/**
 * What a snapshot and its replica lack for tracing on one node, one sentence per gap: the node, the file
 * or step, and what to collect. Read from the manifest (a node not in the snapshot or that failed, a
 * missing or damaged conf.db, zone database, bridge dump or tunnel routing state) and from the replica's
 * own record of the steps that failed (flows that did not load, a database that did not start).
 *
 * Only what a trace can use counts: the bridges a packet entering OVN's integration bridge can reach
 * through patch ports; a bridge's groups, tlv-map, meters and MAC table only when its flows use them
 * (`group:`, tun_metadata, `meter:`, NORMAL); the tunnel routes and neighbours only when the node has
 * tunnel ports. A gap of one bridge is tagged with it, and a gap of the tunnel routing state with
 * `tunnel`, so that a trace that did not use them can leave them out.
 */

import type { NodeUse } from "../cluster/backend.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { flowsUseMeters, flowsUseNormal, groupsUsed, tunMetadataUse } from "./flow-dump.js";
import type { SnapshotManifest, SnapshotNode } from "./format.js";
import type { DatabaseReader, Snapshot } from "./read.js";
import type { ReplicaFailure, ReplicaNode, ReplicaState } from "./replica.js";
import {
  bridgeInterfacesOf,
  bridgesReachableFrom,
  integrationBridgeOf,
  TUNNEL_TYPES,
  type BridgeInterface,
} from "./sos-db.js";

/** One thing missing or broken for traces on a node. */
export interface DataGap {
  /** The bridge it concerns; undefined (and no `tunnel`): the whole node. */
  readonly bridge?: string;
  /** It concerns output to a tunnel (its routes and neighbours). */
  readonly tunnel?: true;
  /** One sentence: the node, the file or step, and what to collect. */
  readonly text: string;
}

/** The command that collects each part on a node, as the messages name it. */
const COLLECT = {
  conf: "`ovsdb-client backup Open_vSwitch`",
  nb: "`ovsdb-client backup OVN_Northbound`",
  sb: "`ovsdb-client backup OVN_Southbound`",
  flows: (b: string) => `\`ovs-ofctl -O OpenFlow15 --no-stats dump-flows ${b}\``,
  groups: (b: string) => `\`ovs-ofctl -O OpenFlow15 dump-groups ${b}\``,
  tlvMap: (b: string) => `\`ovs-ofctl dump-tlv-map ${b}\``,
  meters: (b: string) => `\`ovs-ofctl -O OpenFlow15 dump-meters ${b}\``,
  fdb: (b: string) => `\`ovs-appctl fdb/show ${b}\``,
  routes: "`ovs-appctl ovs/route/show`",
  neighbours: "`ovs-appctl tnl/neigh/show`",
} as const;

/** What the OpenFlow error codes of a failed restore mean, and which dump brings what was lacking. */
const CODE_MEANING: readonly { re: RegExp; meaning: string; collect: (bridge: string) => string }[] = [
  {
    re: /^NXFMFC_INVALID_TLV_FIELD$/,
    meaning: "a flow uses a tunnel metadata field that no tlv-map maps",
    collect: COLLECT.tlvMap,
  },
  {
    re: /^(?:OFPBAC_BAD_OUT_GROUP|OFPGMFC_UNKNOWN_GROUP|OFPGMFC_INVALID_GROUP)$/,
    meaning: "a flow sends packets to a group that does not exist",
    collect: COLLECT.groups,
  },
  {
    re: /^(?:OFPMMFC_UNKNOWN_METER|OFPMMFC_INVALID_METER|OFPBIC_BAD_METER)$/,
    meaning: "a flow sends packets to a meter that does not exist",
    collect: COLLECT.meters,
  },
];

/** The reason of a failure, short: its OpenFlow error codes, else the last line of its error. */
function shortReason(f: ReplicaFailure): string {
  const codes = f.codes.filter((c) => c !== "OFPBFC_MSG_FAILED");
  if (codes.length > 0) return codes.join(", ");
  const last = f.detail.split(" | ").at(-1)?.trim() ?? f.detail;
  return last.length > 200 ? `${last.slice(0, 200)} …` : last;
}

/** How to get a node the snapshot does not have, for each kind of source. */
function notInSnapshot(m: SnapshotManifest, node: string): string {
  const held = m.nodes.map((n) => n.name).join(", ") || "no node";
  switch (m.source.kind) {
    case "files":
      return (
        `node ${node} is not in the snapshot (a --files snapshot holds one node: ${held}): ` +
        `for traces that reach ${node}, collect with --cluster, or with --sos and a sos report of every node`
      );
    case "sos":
      return (
        `node ${node} is not in the snapshot (it holds the sos reports of ${held}): ` +
        `add a sos report of ${node} to \`snapshot collect --sos\``
      );
    case "cluster":
    case "lab":
      return (
        `node ${node} is not in the snapshot (taken from ${m.source.description} at ${m.createdAt}, it holds ${held}): ` +
        `take a new snapshot that includes it`
      );
  }
}

function failedNode(m: SnapshotManifest, n: SnapshotNode): string {
  const why = n.error ?? "nothing usable was found";
  const again =
    m.source.kind === "sos"
      ? `give a readable sos report of ${n.name}`
      : m.source.kind === "files"
        ? `give ${n.name}'s conf.db and flow dumps`
        : `take the snapshot again when ${n.name} answers`;
  return `node ${n.name} could not be collected (${why}): ${again}`;
}

/** Why a file of the snapshot cannot be used. */
function unusable(snap: Snapshot, file: string | undefined): string {
  if (file === undefined) return "not collected";
  return snap.damaged.includes(file)
    ? `${file} is damaged: its checksum differs from the manifest`
    : `${file} is gone`;
}

/** What one node's gaps are written with: the snapshot, the node, and how to add a gap. */
interface NodeCheck {
  readonly snap: Snapshot;
  readonly n: SnapshotNode;
  readonly usable: (f: string | undefined) => f is string;
  readonly node: (text: string) => void;
  readonly ofBridge: (bridge: string, text: string) => void;
  readonly ofTunnels: (text: string) => void;
}

/** The gaps of one node. */
function nodeGaps(
  snap: Snapshot,
  replica: ReplicaState | undefined,
  name: string,
  readDatabase: DatabaseReader,
): DataGap[] {
  const m = snap.manifest;
  const n = m.nodes.find((x) => x.name === name);
  if (n === undefined) return [{ text: notInSnapshot(m, name) }];
  if (n.status === "failed") return [{ text: failedNode(m, n) }];
  const gaps: DataGap[] = [];
  const c: NodeCheck = {
    snap,
    n,
    usable: (f): f is string => f !== undefined && snap.usable(f) !== undefined,
    node: (text) => gaps.push({ text: `node ${name}: ${text}` }),
    ofBridge: (bridge, text) => gaps.push({ bridge, text: `node ${name}: ${text}` }),
    ofTunnels: (text) => gaps.push({ tunnel: true, text: `node ${name}: ${text}` }),
  };
  const conf = confGaps(c, readDatabase);
  zoneGaps(c, replica);
  // the bridges a trace can cross, and what their flows need
  const interfaces: BridgeInterface[] = conf === undefined ? [] : bridgeInterfacesOf(conf);
  const integration = integrationBridgeOf(conf);
  const bridges =
    conf === undefined
      ? [...new Set([integration, ...n.bridges.map((b) => b.name)])]
      : bridgesReachableFrom(integration, interfaces);
  for (const br of bridges) bridgeGaps(c, br);
  tunnelGaps(c, interfaces, bridges);
  if (replica !== undefined) gaps.push(...replicaGaps(replica, name, conf === undefined));
  return dedupe(gaps);
}

/** conf.db: without it, no OVS runs for this node in the replica. Its database when it reads. */
function confGaps(
  { snap, n, usable, node }: NodeCheck,
  readDatabase: DatabaseReader,
): OvsdbDatabase | undefined {
  if (!usable(n.confDb)) {
    node(
      `the snapshot has no usable conf.db (${unusable(snap, n.confDb)}), so OVS does not run for it in the replica: collect ${COLLECT.conf} on that node`,
    );
    return undefined;
  }
  try {
    return readDatabase(n.confDb);
  } catch (e) {
    node(
      `its conf.db (${n.confDb}) does not read (${e instanceof Error ? e.message : String(e)}): collect ${COLLECT.conf} on that node again`,
    );
    return undefined;
  }
}

/** Its zone's NB and SB (ovn-trace, the tunnel's destination, detrace). */
function zoneGaps({ snap, n, usable, node }: NodeCheck, replica: ReplicaState | undefined): void {
  const zone = snap.manifest.zones.find((z) => z.name === n.zone);
  const rzone = replica?.zones.find((z) => z.name === n.zone);
  for (const [role, label, command] of [
    ["nb", "NB", COLLECT.nb],
    ["sb", "SB", COLLECT.sb],
  ] as const) {
    const file = zone?.[role];
    if (!usable(file)) {
      node(
        `the snapshot has no usable ${label} database of its zone ${n.zone} (${unusable(snap, file)}): collect ${command} from that zone's ${label}`,
      );
    } else if (rzone !== undefined && rzone.dbs[role] === undefined) {
      const why = rzone.problems.find((p) => p.includes(label)) ?? "it did not start";
      node(
        `the ${label} database of its zone ${n.zone} (${file}) does not load in the replica (${why}): collect ${command} from that zone's ${label} again`,
      );
    }
  }
}

/** A bridge a trace can cross: its flows, and the groups, tlv-map, meters and MAC table they need. */
function bridgeGaps({ snap, n, usable, ofBridge }: NodeCheck, br: string): void {
  const b = n.bridges.find((x) => x.name === br);
  if (b === undefined || !usable(b.flows)) {
    ofBridge(
      br,
      `the snapshot has no ${br} flows (${b === undefined ? "not collected" : unusable(snap, b.flows)}): collect ${COLLECT.flows(br)} on that node`,
    );
    return;
  }
  // the flows (tens of MB on a big node) are read only to tell whether a missing companion file matters
  const file = b.flows;
  let text: string | undefined;
  const flows = (): string => (text ??= snap.text(file));
  const groups = usable(b.groups) ? [] : groupsUsed(flows());
  if (groups.length > 0)
    ofBridge(
      br,
      `its ${br} flows send packets to groups (${groups.slice(0, 5).join(", ")}${groups.length > 5 ? ", …" : ""}) and the snapshot has no ${br} groups (${unusable(snap, b.groups)}): collect ${COLLECT.groups(br)} on that node`,
    );
  const fields = usable(b.tlvMap)
    ? []
    : [...tunMetadataUse(flows()).keys()].map((i) => `tun_metadata${String(i)}`);
  if (fields.length > 0)
    ofBridge(
      br,
      `its ${br} flows use ${fields.join(", ")} and the snapshot has no ${br} tlv-map (${unusable(snap, b.tlvMap)}): collect ${COLLECT.tlvMap(br)} on that node`,
    );
  if (!usable(b.meters) && flowsUseMeters(flows()))
    ofBridge(
      br,
      `its ${br} flows send packets to meters and the snapshot has no ${br} meters (${unusable(snap, b.meters)}): collect ${COLLECT.meters(br)} on that node`,
    );
  if (!usable(b.fdb) && flowsUseNormal(flows()))
    ofBridge(
      br,
      `its ${br} flows use NORMAL and the snapshot has no ${br} MAC table (${unusable(snap, b.fdb)}), so the replica floods where the node forwarded: collect ${COLLECT.fdb(br)} on that node`,
    );
}

/** Output to a tunnel is routed with state no database holds. */
function tunnelGaps(
  { snap, n, usable, ofTunnels }: NodeCheck,
  interfaces: readonly BridgeInterface[],
  bridges: readonly string[],
): void {
  const tunnelBridges = [
    ...new Set(interfaces.filter((i) => TUNNEL_TYPES.has(i.type)).map((i) => i.bridge)),
  ].filter((b) => bridges.includes(b));
  if (tunnelBridges.length === 0) return;
  const ports = `it has tunnel ports (on ${tunnelBridges.join(", ")})`;
  if (!usable(n.runtime.routes))
    ofTunnels(
      `${ports} and the snapshot has no tunnel routes (${unusable(snap, n.runtime.routes)}), so the replica cannot route a packet into a tunnel: collect ${COLLECT.routes} on that node`,
    );
  if (!usable(n.runtime.tunnelNeighbors))
    ofTunnels(
      `${ports} and the snapshot has no tunnel neighbours (${unusable(snap, n.runtime.tunnelNeighbors)}), so the replica does not know the next hop's MAC: collect ${COLLECT.neighbours} on that node`,
    );
}

/** The steps of the replica that failed for a node (`confReported`: its conf.db's gap is already named). */
function replicaGaps(replica: ReplicaState, name: string, confReported: boolean): DataGap[] {
  const rn: ReplicaNode | undefined = replica.nodes.find((x) => x.name === name);
  if (rn === undefined)
    return [
      {
        text: `node ${name}: the replica (${replica.dir}) has no OVS for it: start it again (snapshot start)`,
      },
    ];
  if (rn.failed === undefined)
    // a replica started by an older version: its problems as text
    return rn.problems.map((p) => ({ text: `node ${name}: the replica reports: ${p}` }));
  const gaps: DataGap[] = [];
  for (const f of rn.failed) {
    const br = f.bridge ?? "";
    const why = shortReason(f);
    const known = CODE_MEANING.find((c) => f.codes.some((code) => c.re.test(code)));
    const cause = known === undefined ? why : `${why}: ${known.meaning}`;
    const tagged = (text: string): void => {
      const t = `node ${name}: ${text}`;
      gaps.push(
        f.part === "routes" || f.part === "neighbours"
          ? { tunnel: true, text: t }
          : f.bridge === undefined
            ? { text: t }
            : { bridge: br, text: t },
      );
    };
    switch (f.part) {
      case "conf.db":
        if (!confReported)
          tagged(
            `OVS does not start on its conf.db in the replica (${why}): collect ${COLLECT.conf} on that node again`,
          );
        break;
      case "settings":
        // stripping controllers, managers and SSL changes no flow: not a gap for traces
        break;
      case "flows":
        tagged(
          `none of its ${br} flows loaded into the replica (replace-flows failed: ${cause}): collect ${known?.collect(br) ?? `${COLLECT.flows(br)} again`} on that node`,
        );
        break;
      case "groups":
        tagged(
          `its ${br} groups did not load into the replica (${cause}): collect ${COLLECT.groups(br)} on that node again`,
        );
        break;
      case "tlv-map":
        tagged(
          `its ${br} tlv-map did not load into the replica (${cause}): collect ${COLLECT.tlvMap(br)} on that node again`,
        );
        break;
      case "meters":
        tagged(
          `a ${br} meter did not load into the replica (${cause}): collect ${COLLECT.meters(br)} on that node again`,
        );
        break;
      case "fdb":
        tagged(
          `a ${br} MAC table entry did not load into the replica (${cause}): collect ${COLLECT.fdb(br)} on that node again`,
        );
        break;
      case "routes":
        tagged(
          `a tunnel route did not load into the replica (${cause}): collect ${COLLECT.routes} on that node again`,
        );
        break;
      case "neighbours":
        tagged(
          `a tunnel neighbour did not load into the replica (${cause}): collect ${COLLECT.neighbours} on that node again`,
        );
        break;
    }
  }
  return gaps;
}

function dedupe(gaps: readonly DataGap[]): DataGap[] {
  const seen = new Set<string>();
  return gaps.filter((g) => {
    if (seen.has(g.text)) return false;
    seen.add(g.text);
    return true;
  });
}

/**
 * The gaps of a snapshot and its replica, per node, computed once per node. `replica`: the replica's
 * state (undefined: only what the manifest says).
 */
export class SnapshotGaps {
  private readonly byNode = new Map<string, readonly DataGap[]>();

  constructor(
    private readonly snap: Snapshot,
    private readonly replica: ReplicaState | undefined,
    private readonly readDatabase: DatabaseReader = (file) => readOvsdbFile(snap.bytes(file)),
  ) {}

  /** Every gap of a node, tagged with its bridge when it concerns one. */
  of(node: string): readonly DataGap[] {
    let g = this.byNode.get(node);
    if (g === undefined) {
      g = nodeGaps(this.snap, this.replica, node, this.readDatabase);
      this.byNode.set(node, g);
    }
    return g;
  }

  /**
   * The sentences for a node; `used` (what a trace used there) leaves out the gaps of the bridges it did
   * not cross, and those of the tunnels when it sent nothing into one.
   */
  sentences(node: string, used?: NodeUse): string[] {
    return this.of(node)
      .filter(
        (g) =>
          used === undefined ||
          (g.bridge !== undefined ? used.bridges.includes(g.bridge) : g.tunnel !== true || used.tunnel),
      )
      .map((g) => g.text);
  }
}
