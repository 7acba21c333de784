/**
 * Builds a snapshot from what was collected per node (a sos report, or files given by hand): writes
 * each node's files as soon as it is added, keeps one NB/SB per zone, and decides at the end which
 * zone every node belongs to and the cluster's shape.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flowsUseMeters, ovnTlvMapFromFlows } from "./flow-dump.js";
import {
  snapshotPaths,
  type SnapshotBridge,
  type SnapshotManifest,
  type SnapshotNode,
  type SnapshotRuntime,
  type SnapshotSourceKind,
  type SnapshotZone,
} from "./format.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import {
  chassisOf,
  clusterShapeOf,
  DB_FILE,
  hostnameOf,
  systemIdOf,
  zoneNameOf,
  type ChassisSummary,
  type LoadedDb,
} from "./sos-db.js";
import { SnapshotWriter } from "./writer.js";

export interface CollectedBridge {
  readonly name: string;
  /** Restorable texts (see format.ts). */
  readonly flows?: string;
  readonly groups?: string;
  readonly meters?: string;
  readonly tlvMap?: string;
  /** `ovs-appctl fdb/show` as printed. */
  readonly fdb?: string;
}

/** The restorable dumps found for a bridge; undefined when none was found or none was usable. */
export interface BridgeDumpTexts {
  readonly flows: string | undefined;
  readonly groups: string | undefined;
  readonly tlvMap: string | undefined;
  /** Only loose files give these (a sos report has no meters, and its fdb/show is not read). */
  readonly meters?: string | undefined;
  readonly fdb?: string | undefined;
}

/** For an OVN integration bridge: its tlv-map may be read from its flows (see ovnTlvMapFromFlows). */
export interface IntegrationBridge {
  /** Receives one sentence when the tlv-map was derived. */
  readonly notes: string[];
}

/**
 * A bridge with the dumps found for it. Each dump not found is missing, and so are the meters when its
 * flows use some and none were given. The tlv-map of OVN's integration bridge (`ovn`), when not found, is
 * derived from its flows' use of tunnel metadata when they show it (a note says so).
 */
export function collectedBridge(
  name: string,
  found: BridgeDumpTexts,
  missing: string[],
  ovn?: IntegrationBridge,
): CollectedBridge {
  const { flows, groups, meters, fdb } = found;
  let { tlvMap } = found;
  if (tlvMap === undefined && flows !== undefined && ovn !== undefined) {
    const derived = ovnTlvMapFromFlows(flows);
    if (typeof derived === "object" && "text" in derived) {
      tlvMap = derived.text;
      ovn.notes.push(
        `${name} tlv-map derived from the flows' use of ${derived.field}, as ovn-controller ` +
          `maps OVN's Geneve option: {class=0x102,type=0x80,len=4}->${derived.field}`,
      );
    }
  }
  if (flows === undefined) missing.push(`${name} flows`);
  if (groups === undefined) missing.push(`${name} groups`);
  if (tlvMap === undefined) missing.push(`${name} tlv-map`);
  if (flows !== undefined && meters === undefined && flowsUseMeters(flows)) missing.push(`${name} meters`);
  return {
    name,
    ...(flows === undefined ? {} : { flows }),
    ...(groups === undefined ? {} : { groups }),
    ...(meters === undefined ? {} : { meters }),
    ...(tlvMap === undefined ? {} : { tlvMap }),
    ...(fdb === undefined ? {} : { fdb }),
  };
}

export interface CollectedRuntime {
  readonly dpifShow?: string;
  readonly routes?: string;
  readonly tunnelNeighbors?: string;
}

/** Everything found for one node. */
export interface CollectedNode {
  /** Where it came from (an archive, a directory, "files"), for messages. */
  readonly origin: string;
  readonly name: string;
  readonly confDb?: LoadedDb;
  /** The NB and SB found with this node (its zone's, in interconnect; the cluster's, in central). */
  readonly nb?: LoadedDb;
  readonly sb?: LoadedDb;
  readonly bridges: readonly CollectedBridge[];
  readonly runtime: CollectedRuntime;
  /** Parts that were looked for and not found or not usable ("conf.db", "br-int groups"...). */
  readonly missing: readonly string[];
  readonly ovsVersion?: string;
  readonly ovnVersion?: string;
  /** Set when nothing usable was found: why, as the user should read it. */
  readonly error?: string;
}

/** Kubernetes node names, zone names and bridge names all end up as path components. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && name.length <= 253;
}

/** A name made safe for a path component (anything odd becomes "-"). */
export function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._:-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return s === "" ? "unnamed" : s.slice(0, 253);
}

interface NodeEntry {
  readonly name: string;
  readonly origin: string;
  zone?: string;
  readonly error?: string;
  readonly ovsVersion?: string;
  readonly ovnVersion?: string;
  readonly confDb?: string;
  readonly bridges: SnapshotBridge[];
  readonly runtime: SnapshotRuntime;
  readonly missing: string[];
  readonly systemId?: string;
  readonly hostname?: string;
  /** The node's report held this zone's databases. */
  holdsZone: boolean;
}

interface ZoneEntry {
  readonly name: string;
  nb?: { path: string; origin: string };
  sb?: { path: string; origin: string };
  chassis: ChassisSummary[];
  /** The databases kept, for the cluster's shape. */
  nbDb?: OvsdbDatabase;
  sbDb?: OvsdbDatabase;
}

/** Whether a node is this chassis: by system-id (the chassis name) or by hostname. */
function isNode(c: ChassisSummary, n: NodeEntry): boolean {
  return (n.systemId !== undefined && c.name === n.systemId) || c.hostname === n.name;
}

export class SnapshotAssembler {
  readonly problems: string[] = [];
  private readonly nodes: NodeEntry[] = [];
  private readonly zones = new Map<string, ZoneEntry>();
  private readonly pendingSb: { node: NodeEntry; sb: LoadedDb }[] = [];

  constructor(private readonly writer: SnapshotWriter) {}

  /** Nodes added with something usable. */
  get usableNodes(): number {
    return this.nodes.filter((n) => n.error === undefined).length;
  }

  add(c: CollectedNode): void {
    const name = isSafeName(c.name) ? c.name : safeName(c.name);
    if (name !== c.name) this.problems.push(`${c.origin}: node name "${c.name}" is stored as "${name}"`);
    const twin = this.nodes.find((n) => n.name === name);
    if (twin !== undefined) {
      this.problems.push(`${c.origin} is for node ${name} too, already read from ${twin.origin}: skipped`);
      return;
    }
    const node: NodeEntry = {
      name,
      origin: c.origin,
      ...(c.error === undefined ? {} : { error: c.error }),
      ...(c.ovsVersion === undefined ? {} : { ovsVersion: c.ovsVersion }),
      ...(c.ovnVersion === undefined ? {} : { ovnVersion: c.ovnVersion }),
      ...(c.confDb === undefined
        ? {}
        : { confDb: this.writer.write(snapshotPaths.confDb(name), c.confDb.bytes) }),
      bridges: [],
      runtime: this.writeRuntime(name, c.runtime),
      missing: [...c.missing],
      ...optional("systemId", c.confDb === undefined ? undefined : systemIdOf(c.confDb.db)),
      ...optional("hostname", c.confDb === undefined ? undefined : hostnameOf(c.confDb.db)),
      holdsZone: false,
    };
    for (const b of c.bridges) this.writeBridge(node, b);
    this.nodes.push(node);
    if (c.nb !== undefined) this.addZoneDbs(node, c.nb, c.sb);
    else if (c.sb !== undefined) this.pendingSb.push({ node, sb: c.sb });
  }

  private writeRuntime(node: string, r: CollectedRuntime): SnapshotRuntime {
    return {
      ...optional("dpifShow", r.dpifShow && this.writer.write(snapshotPaths.dpifShow(node), r.dpifShow)),
      ...optional("routes", r.routes && this.writer.write(snapshotPaths.routes(node), r.routes)),
      ...optional(
        "tunnelNeighbors",
        r.tunnelNeighbors && this.writer.write(snapshotPaths.tunnelNeighbors(node), r.tunnelNeighbors),
      ),
    };
  }

  private writeBridge(node: NodeEntry, b: CollectedBridge): void {
    if (!isSafeName(b.name)) {
      this.problems.push(`${node.origin}: bridge "${b.name}" has a name we cannot store; skipped`);
      node.missing.push(`${b.name} flows`);
      return;
    }
    const w = (path: string, text: string | undefined) =>
      text === undefined ? undefined : this.writer.write(path, text);
    node.bridges.push({
      name: b.name,
      ...optional("flows", w(snapshotPaths.flows(node.name, b.name), b.flows)),
      ...optional("groups", w(snapshotPaths.groups(node.name, b.name), b.groups)),
      ...optional("meters", w(snapshotPaths.meters(node.name, b.name), b.meters)),
      ...optional("tlvMap", w(snapshotPaths.tlvMap(node.name, b.name), b.tlvMap)),
      ...optional("fdb", w(snapshotPaths.fdb(node.name, b.name), b.fdb)),
    });
  }

  private zone(name: string): ZoneEntry {
    let z = this.zones.get(name);
    if (z === undefined) {
      z = { name, chassis: [] };
      this.zones.set(name, z);
    }
    return z;
  }

  private zoneName(node: NodeEntry, raw: string): string {
    if (isSafeName(raw)) return raw;
    const safe = safeName(raw);
    this.problems.push(`${node.origin}: zone name "${raw}" is stored as "${safe}"`);
    return safe;
  }

  private addZoneDbs(node: NodeEntry, nb: LoadedDb, sb: LoadedDb | undefined): void {
    const z = this.zone(this.zoneName(node, zoneNameOf(nb.db)));
    node.zone = z.name;
    node.holdsZone = true;
    this.keepDb(z, "nb", nb);
    if (sb !== undefined) this.keepDb(z, "sb", sb);
  }

  private keepDb(z: ZoneEntry, role: "nb" | "sb", db: LoadedDb): void {
    const kept = z[role];
    if (kept !== undefined) {
      this.problems.push(
        `zone ${z.name}: ${DB_FILE[role]} also found in ${db.origin}; kept the one from ${kept.origin}`,
      );
      return;
    }
    const path = this.writer.write(
      role === "nb" ? snapshotPaths.nb(z.name) : snapshotPaths.sb(z.name),
      db.bytes,
    );
    z[role] = { path, origin: db.origin };
    if (role === "nb") z.nbDb = db.db;
    if (role === "sb") {
      z.sbDb = db.db;
      z.chassis = chassisOf(db.db);
    }
  }

  /** Assigns zones, checks what is missing and writes manifest.json. */
  finish(source: { kind: SnapshotSourceKind; description: string }): SnapshotManifest {
    for (const { node, sb } of this.pendingSb) {
      // A SB without its NB: the zone name (NB_Global.name) is lost. ovn-kubernetes names an
      // interconnect zone after its node, and an interconnect SB knows remote chassis.
      const interconnect =
        chassisOf(sb.db).some((c) => c.remote) || [...this.zones.keys()].some((z) => z !== "global");
      const z = this.zone(interconnect ? node.name : "global");
      node.zone = z.name;
      node.holdsZone = true;
      this.keepDb(z, "sb", sb);
      this.problems.push(`${node.origin}: the SB has no NB with it; zone named "${z.name}" by guess`);
    }
    const usable = this.nodes.filter((n) => n.error === undefined);
    for (const n of usable) if (n.zone === undefined) this.placeNode(n);
    for (const n of usable) if (n.holdsZone) this.checkHolder(n);
    const zones = [...this.zones.values()];
    const soleZone = zones.length === 1 ? zones[0]?.name : undefined;
    for (const n of this.nodes) if (n.error !== undefined) n.zone = soleZone ?? "unknown";
    const manifestZones: SnapshotZone[] = zones.map((z) => ({
      name: z.name,
      ...optional("nb", z.nb?.path),
      ...optional("sb", z.sb?.path),
      missing: [...(z.nb === undefined ? [DB_FILE.nb] : []), ...(z.sb === undefined ? [DB_FILE.sb] : [])],
    }));
    for (const z of manifestZones)
      if (z.missing.length > 0) this.problems.push(`zone ${z.name} has no ${z.missing.join(" and no ")}`);
    return this.writer.finish({
      source,
      shape: clusterShapeOf(
        zones.map((z) => ({
          name: z.name,
          ...(z.nbDb === undefined ? {} : { nb: z.nbDb }),
          ...(z.sbDb === undefined ? {} : { sb: z.sbDb }),
        })),
      ),
      zones: manifestZones,
      nodes: this.nodes.map((n) => manifestNode(n)),
      problems: this.problems,
    });
  }

  /** A node whose report had no NB/SB: the zone whose SB has its chassis as a local one. */
  private placeNode(n: NodeEntry): void {
    const zones = [...this.zones.values()];
    const local = zones.find((z) => z.chassis.some((c) => isNode(c, n) && !c.remote));
    if (local !== undefined) {
      n.zone = local.name;
      return;
    }
    const [sole] = zones;
    if (zones.length === 1 && sole !== undefined && !sole.chassis.some((c) => isNode(c, n) && c.remote)) {
      n.zone = sole.name;
      if (sole.sb !== undefined && sole.chassis.length > 0)
        this.problems.push(`node ${n.name} has no chassis in zone ${sole.name}'s SB`);
      return;
    }
    if (zones.length === 0) {
      n.zone = this.zone("global").name;
      return;
    }
    // interconnect, and its own zone's databases were not in its report
    n.zone = this.zone(n.name).name;
    n.missing.push(DB_FILE.nb, DB_FILE.sb);
    this.problems.push(
      `node ${n.name}: no SB has its chassis as a local one and its report has no NB/SB; zone "${n.name}" assumed`,
    );
  }

  private checkHolder(n: NodeEntry): void {
    const z = n.zone === undefined ? undefined : this.zones.get(n.zone);
    if (z?.chassis.some((c) => isNode(c, n) && c.remote) === true)
      this.problems.push(`node ${n.name}: zone ${z.name}'s SB lists its chassis as a remote one`);
  }
}

function manifestNode(n: NodeEntry): SnapshotNode {
  const missing = [...new Set(n.missing)];
  return {
    name: n.name,
    zone: n.zone ?? "unknown",
    status: n.error !== undefined ? "failed" : missing.length > 0 ? "partial" : "complete",
    ...optional("error", n.error),
    ...optional("ovsVersion", n.ovsVersion),
    ...optional("ovnVersion", n.ovnVersion),
    ...optional("confDb", n.confDb),
    bridges: n.bridges,
    runtime: n.runtime,
    missing,
  };
}

/** `{ key: value }` when value is a non-empty string, `{}` otherwise (exactOptionalPropertyTypes-friendly). */
function optional<K extends string>(key: K, value: string | undefined | false): { [P in K]?: string } {
  return typeof value === "string" && value !== "" ? ({ [key]: value } as { [P in K]: string }) : {};
}

/**
 * Runs `body` with a new SnapshotWriter on `out`. If it throws, what it wrote goes away: `out` is removed
 * when it did not exist before, emptied when it was an empty directory.
 */
export async function withNewSnapshot<T>(out: string, body: (w: SnapshotWriter) => Promise<T>): Promise<T> {
  const writer = new SnapshotWriter(out);
  try {
    return await body(writer);
  } catch (e) {
    writer.abandon();
    throw e;
  }
}

/**
 * Runs `collect` with an assembler writing a new snapshot to `out` and a scratch directory (under the
 * system's temporary directory, named `<scratchPrefix>XXXXXX`) that is removed afterwards. If `collect`
 * throws, `out` is left as withNewSnapshot leaves it.
 */
export async function assembleSnapshot(
  out: string,
  scratchPrefix: string,
  collect: (asm: SnapshotAssembler, scratch: string) => Promise<SnapshotManifest>,
): Promise<SnapshotManifest> {
  const scratch = mkdtempSync(join(tmpdir(), scratchPrefix));
  try {
    return await withNewSnapshot(out, (writer) => collect(new SnapshotAssembler(writer), scratch));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
