/**
 * OVSDB files found in a sos report or given by hand: checked with our reader, clustered ones turned
 * into standalone files with `ovsdb-tool cluster-to-standalone`, and the few facts a snapshot needs
 * read out of them (node name, bridges, zone name, which chassis are local).
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import {
  externalIds,
  options,
  otherConfig,
  rowByUuid,
  setColumn,
  stringColumn,
  tableRows,
} from "../ovsdb/index.js";
import { looksLikeOvsdbFile, readOvsdbFile, readOvsdbFileLenient } from "../ovsdb/file.js";
import { run } from "../ovs/exec.js";
import { describeFailure } from "../cluster/backend.js";
import { ParseError } from "../errors.js";

/** The three databases a snapshot holds, by what they are for. */
export type DbRole = "conf" | "nb" | "sb";

export const ROLE_OF_SCHEMA: Readonly<Record<string, DbRole>> = {
  Open_vSwitch: "conf",
  OVN_Northbound: "nb",
  OVN_Southbound: "sb",
};

/** Their file names, which are also the names `missing` lists them by. */
export const DB_FILE: Readonly<Record<DbRole, string>> = {
  conf: "conf.db",
  nb: "ovnnb_db.db",
  sb: "ovnsb_db.db",
};

export interface LoadedDb {
  /** Where the file came from, for messages. */
  readonly origin: string;
  /** A standalone OVSDB file, as the snapshot stores it. */
  readonly bytes: Uint8Array;
  readonly db: OvsdbDatabase;
  /** What had to be done to it (converted from clustered, a torn tail dropped), one sentence each. */
  readonly notes: readonly string[];
}

export type DbLoad =
  | { readonly ok: true; readonly loaded: LoadedDb }
  | { readonly ok: false; readonly origin: string; readonly schemaName?: string; readonly reason: string };

const OVSDB_TOOL_TIMEOUT_MS = 120_000;

/**
 * Reads an OVSDB file. A standalone file with a torn tail keeps its good records, as ovsdb-server
 * would; one whose data is unreadable (a compacted file cut short, garbage) is refused with the reason.
 */
export async function loadDbFile(bytes: Uint8Array, origin: string, scratch: string): Promise<DbLoad> {
  if (bytes.byteLength === 0) return { ok: false, origin, reason: `${origin} is empty` };
  if (!looksLikeOvsdbFile(bytes))
    return { ok: false, origin, reason: `${origin} is not an OVSDB file (no "OVSDB JSON" header)` };
  const clustered = Buffer.from(bytes.subarray(0, 14)).toString("latin1") === "OVSDB CLUSTER ";
  return clustered ? loadClustered(bytes, origin, scratch) : loadStandalone(bytes, origin);
}

function loadStandalone(bytes: Uint8Array, origin: string): DbLoad {
  let read;
  try {
    read = readOvsdbFileLenient(bytes);
  } catch (e) {
    return { ok: false, origin, reason: `${origin} is damaged: ${messageOf(e)}` };
  }
  const { database, error } = read;
  if (error === null) return { ok: true, loaded: { origin, bytes, db: database, notes: [] } };
  if (database.transactions === 0) {
    return {
      ok: false,
      origin,
      schemaName: database.name,
      reason: `${origin} is damaged (${error.message}): no data before the damage`,
    };
  }
  const kept = bytes.subarray(0, database.bytesRead);
  return {
    ok: true,
    loaded: {
      origin,
      bytes: kept,
      db: database,
      notes: [
        `${origin} is damaged (${error.message}); kept its first ${database.bytesRead} of ${bytes.byteLength} bytes ` +
          `(${database.transactions} transactions), as ovsdb-server would`,
      ],
    },
  };
}

async function loadClustered(bytes: Uint8Array, origin: string, scratch: string): Promise<DbLoad> {
  let schemaName: string;
  let damage: string | undefined;
  try {
    const { database, error } = readOvsdbFileLenient(bytes);
    schemaName = database.name;
    if (error !== null) damage = error.message;
  } catch (e) {
    return { ok: false, origin, reason: `${origin} is damaged: ${messageOf(e)}` };
  }
  const dir = mkdtempSync(join(scratch, "db-"));
  try {
    const input = join(dir, "clustered.db");
    const output = join(dir, "standalone.db");
    writeFileSync(input, bytes);
    const r = await run(["ovsdb-tool", "cluster-to-standalone", output, input], {
      timeoutMs: OVSDB_TOOL_TIMEOUT_MS,
    });
    if (r.exitCode !== 0 || r.timedOut) {
      return {
        ok: false,
        origin,
        schemaName,
        reason: `${origin} is a clustered database that could not be converted: ${describeFailure(r)}`,
      };
    }
    const standalone = readFileSync(output);
    let db: OvsdbDatabase;
    try {
      db = readOvsdbFile(standalone);
    } catch (e) {
      return {
        ok: false,
        origin,
        schemaName,
        reason: `${origin}: ovsdb-tool cluster-to-standalone wrote a file we cannot read: ${messageOf(e)}`,
      };
    }
    const notes = [`${origin} is clustered: converted with ovsdb-tool cluster-to-standalone`];
    if (damage !== undefined)
      notes.push(`${origin} is damaged (${damage}); the conversion kept what ovsdb-tool could read`);
    return { ok: true, loaded: { origin, bytes: standalone, db, notes } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function messageOf(e: unknown): string {
  return e instanceof ParseError || e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Facts read from the databases
// ---------------------------------------------------------------------------------------------

function openVswitchRow(conf: OvsdbDatabase) {
  return tableRows(conf, "Open_vSwitch")[0];
}

/** `external_ids:hostname` of the Open_vSwitch row: the chassis hostname = the Kubernetes node name. */
export function hostnameOf(conf: OvsdbDatabase): string | undefined {
  const row = openVswitchRow(conf);
  const name = row === undefined ? undefined : externalIds(row).hostname;
  return name === undefined || name === "" ? undefined : name;
}

/** `external_ids:system-id`: the chassis name in the SB. */
export function systemIdOf(conf: OvsdbDatabase): string | undefined {
  const row = openVswitchRow(conf);
  const id = row === undefined ? undefined : externalIds(row)["system-id"];
  return id === undefined || id === "" ? undefined : id;
}

export function ovsVersionOf(conf: OvsdbDatabase): string | undefined {
  const row = openVswitchRow(conf);
  return row === undefined ? undefined : stringColumn(row, "ovs_version");
}

export function bridgeNamesOf(conf: OvsdbDatabase): string[] {
  return tableRows(conf, "Bridge")
    .map((row) => stringColumn(row, "name"))
    .filter((n): n is string => n !== undefined && n !== "")
    .sort();
}

/** The zone a NB belongs to: `NB_Global.name` (ovn-kubernetes interconnect sets it), else "global". */
export function zoneNameOf(nb: OvsdbDatabase): string {
  const row = tableRows(nb, "NB_Global")[0];
  const name = row === undefined ? undefined : stringColumn(row, "name");
  return name === undefined || name === "" ? "global" : name;
}

export interface ChassisSummary {
  readonly name: string;
  readonly hostname: string;
  /** `other_config:is-remote=true`: a chassis of another zone, written there for the tunnels. */
  readonly remote: boolean;
}

export function chassisOf(sb: OvsdbDatabase): ChassisSummary[] {
  return tableRows(sb, "Chassis").map((row) => ({
    name: stringColumn(row, "name") ?? "",
    hostname: stringColumn(row, "hostname") ?? "",
    remote: otherConfig(row)["is-remote"] === "true",
  }));
}

/**
 * What in a zone's databases says the cluster is interconnect (one zone per node, ovn-kubernetes style),
 * or undefined: a zone name other than "global" (NB_Global.name), a transit switch (a logical switch with
 * `other_config:interconn-ts`, or named transit_switch), a remote chassis (`other_config:is-remote=true`).
 */
export function interconnectEvidence(
  zone: string,
  nb: OvsdbDatabase | undefined,
  sb: OvsdbDatabase | undefined,
): string | undefined {
  if (zone !== "global") return `zone name "${zone}"`;
  const ts = (nb === undefined ? [] : tableRows(nb, "Logical_Switch")).find(
    (ls) => otherConfig(ls)["interconn-ts"] !== undefined || stringColumn(ls, "name") === "transit_switch",
  );
  if (ts !== undefined) return `transit switch ${stringColumn(ts, "name") ?? "?"}`;
  const remote = (sb === undefined ? [] : chassisOf(sb)).find((c) => c.remote);
  return remote === undefined ? undefined : `remote chassis ${remote.hostname || remote.name}`;
}

/** The cluster's shape from its zones: interconnect when there are several, or when one shows it. */
export function clusterShapeOf(
  zones: readonly { readonly name: string; readonly nb?: OvsdbDatabase; readonly sb?: OvsdbDatabase }[],
): "central" | "interconnect" {
  return zones.length > 1 || zones.some((z) => interconnectEvidence(z.name, z.nb, z.sb) !== undefined)
    ? "interconnect"
    : "central";
}

/** OVN's integration bridge on a node: `external_ids:ovn-bridge` of the Open_vSwitch row, else br-int. */
export function integrationBridgeOf(conf: OvsdbDatabase | undefined): string {
  const row = conf === undefined ? undefined : openVswitchRow(conf);
  const name = row === undefined ? undefined : externalIds(row)["ovn-bridge"];
  return name === undefined || name === "" ? "br-int" : name;
}

/** One interface of a bridge, as far as what a trace through it needs. */
export interface BridgeInterface {
  readonly bridge: string;
  readonly name: string;
  readonly type: string;
  /** `options:peer` of a patch port. */
  readonly peer?: string;
}

export function bridgeInterfacesOf(conf: OvsdbDatabase): BridgeInterface[] {
  const out: BridgeInterface[] = [];
  for (const br of tableRows(conf, "Bridge")) {
    const bridge = stringColumn(br, "name") ?? "";
    for (const portRef of setColumn(br, "ports")) {
      const port = rowByUuid(conf, "Port", String(portRef));
      for (const ifRef of port === undefined ? [] : setColumn(port, "interfaces")) {
        const i = rowByUuid(conf, "Interface", String(ifRef));
        if (i === undefined) continue;
        const peer = options(i).peer;
        out.push({
          bridge,
          name: stringColumn(i, "name") ?? "",
          type: stringColumn(i, "type") ?? "",
          ...(peer === undefined ? {} : { peer }),
        });
      }
    }
  }
  return out;
}

/** Tunnel interface types: output to them needs the node's tunnel routes and neighbours. */
export const TUNNEL_TYPES: ReadonlySet<string> = new Set([
  "geneve",
  "vxlan",
  "stt",
  "gre",
  "ip6gre",
  "erspan",
  "ip6erspan",
  "gtpu",
  "bareudp",
]);

/** The bridges a packet that enters `start` can reach through patch ports (`start` first). */
export function bridgesReachableFrom(start: string, interfaces: readonly BridgeInterface[]): string[] {
  const bridgeOf = new Map(interfaces.map((i) => [i.name, i.bridge]));
  const seen = [start];
  for (let k = 0; k < seen.length; k++) {
    for (const i of interfaces) {
      if (i.bridge !== seen[k] || i.type !== "patch" || i.peer === undefined) continue;
      const next = bridgeOf.get(i.peer);
      if (next !== undefined && !seen.includes(next)) seen.push(next);
    }
  }
  return seen;
}
