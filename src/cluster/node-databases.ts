import type { ClusterBackend } from "./backend.js";
import { describeFailure } from "./backend.js";
import { ProcessError } from "../errors.js";
import type { OvnDatabases, OvsdbDatabase } from "../model/ovsdb.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { execBatch } from "./exec-batch.js";

/**
 * The one place the tool reads a node's databases through a backend: `ovsdb-client backup` run where
 * ovnkube-node runs (the sockets it reaches by default), parsed by `src/ovsdb`. Read-only.
 */

export type NodeDatabase = "NB" | "SB" | "Open_vSwitch";

function databaseOf(db: NodeDatabase, node: string): string {
  if (db === "Open_vSwitch") return `Open_vSwitch database of ${node}`;
  return `${db === "NB" ? "northbound" : "southbound"} database of ${node}'s zone`;
}

/** The shell line that backs up one database to stdout ($OVS_RUNDIR in the lab, /var/run/openvswitch on a node). */
function backupLine(db: NodeDatabase): string {
  if (db === "Open_vSwitch")
    return 'ovsdb-client backup "unix:${OVS_RUNDIR:-/var/run/openvswitch}/db.sock" Open_vSwitch';
  const name = db === "NB" ? "OVN_Northbound" : "OVN_Southbound";
  return `ovsdb-client backup "\${OVN_${db}_DB:-unix:/var/run/ovn/ovn${db.toLowerCase()}_db.sock}" ${name}`;
}

/** backupLine as a whole `sh -c` script. */
export const backupScript = (db: NodeDatabase): string => `exec ${backupLine(db)}`;

/** Reads one database of a node; a failed backup is a ProcessError naming the node and the database. */
export async function readNodeDatabase(
  b: ClusterBackend,
  node: string,
  db: NodeDatabase,
): Promise<OvsdbDatabase> {
  const r = await b.execOnNode(node, ["sh", "-c", backupScript(db)], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new DatabaseReadError(databaseOf(db, node), describeFailure(r));
  return readOvsdbFile(Buffer.from(r.stdout, "utf8"));
}

/** A backup that failed: `why` is the failed command, for a list that names the database itself. */
class DatabaseReadError extends ProcessError {
  constructor(
    database: string,
    readonly why: string,
  ) {
    super(`cannot read the ${database}: ${why}`);
  }
}

/**
 * The OVN databases of a node's zone, read once per run per zone (`cache` is the run's, by node; `zoneOf` tells
 * which nodes share a zone's databases: every node of a central cluster), NB and SB in one exec.
 */
export function ovnDatabases(
  b: ClusterBackend,
  cache: Map<string, Promise<OvnDatabases>>,
  node: string,
  zoneOf?: (node: string) => string | undefined,
): Promise<OvnDatabases> {
  let p = cache.get(node);
  if (p === undefined && zoneOf !== undefined) {
    const zone = zoneOf(node);
    if (zone !== undefined) p = [...cache].find(([n]) => zoneOf(n) === zone)?.[1];
  }
  p ??= b.zoneDatabases?.(node) ?? readZoneDatabases(b, node);
  cache.set(node, p);
  return p;
}

async function readZoneDatabases(b: ClusterBackend, node: string): Promise<OvnDatabases> {
  const dbs = ["NB", "SB"] as const;
  const results = await execBatch(b, node, dbs.map(backupLine), { timeoutMs: 60_000 });
  const [nb, sb] = results.map((r, i) => {
    const db = dbs[i] ?? "NB";
    if (r.exitCode !== 0) throw new DatabaseReadError(databaseOf(db, node), describeFailure(r));
    return readOvsdbFile(Buffer.from(r.stdout, "utf8"));
  }) as [OvsdbDatabase, OvsdbDatabase];
  return { nb, sb };
}

/** Every database of a node that could be read; each one that could not is named in `missing` with why. */
export interface NodeDatabases {
  readonly nb?: OvsdbDatabase;
  readonly sb?: OvsdbDatabase;
  readonly ovs?: OvsdbDatabase;
  readonly missing: readonly string[];
}

export async function readNodeDatabases(b: ClusterBackend, node: string): Promise<NodeDatabases> {
  const order: readonly NodeDatabase[] = ["NB", "SB", "Open_vSwitch"];
  const read = await Promise.allSettled(order.map((db) => readNodeDatabase(b, node, db)));
  const missing: string[] = [];
  const got = read.map((r, i): OvsdbDatabase | undefined => {
    if (r.status === "fulfilled") return r.value;
    const e: unknown = r.reason;
    const why = e instanceof DatabaseReadError ? e.why : e instanceof Error ? e.message : String(e);
    missing.push(`${databaseOf(order[i] ?? "NB", node)}: ${why}`);
    return undefined;
  });
  const [nb, sb, ovs] = got;
  return {
    ...(nb === undefined ? {} : { nb }),
    ...(sb === undefined ? {} : { sb }),
    ...(ovs === undefined ? {} : { ovs }),
    missing,
  };
}
