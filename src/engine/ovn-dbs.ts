import type { ClusterBackend } from "../cluster/backend.js";
import { ProcessError } from "../errors.js";
import type { OvnDatabases } from "../explain/drop.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { describeFailure } from "../ovs/exec.js";

/** `ovsdb-client backup` of the zone's NB and SB, through the node's pod (the sockets it reaches by default). */
export function backupScript(db: "NB" | "SB"): string {
  const name = db === "NB" ? "OVN_Northbound" : "OVN_Southbound";
  return `exec ovsdb-client backup "\${OVN_${db}_DB:-unix:/var/run/ovn/ovn${db.toLowerCase()}_db.sock}" ${name}`;
}

async function backup(b: ClusterBackend, node: string, db: "NB" | "SB") {
  const r = await b.execOnNode(node, ["sh", "-c", backupScript(db)], { timeoutMs: 60_000 });
  if (r.exitCode !== 0)
    throw new ProcessError(`cannot read the ${db} database of ${node}: ${describeFailure(r)}`);
  return readOvsdbFile(Buffer.from(r.stdout, "utf8"));
}

/** The OVN databases of a node's zone, read once per run per node. */
export function ovnDatabases(
  b: ClusterBackend,
  cache: Map<string, Promise<OvnDatabases>>,
  node: string,
): Promise<OvnDatabases> {
  let p = cache.get(node);
  if (p === undefined) {
    p = Promise.all([backup(b, node, "NB"), backup(b, node, "SB")]).then(([nb, sb]) => ({ nb, sb }));
    cache.set(node, p);
  }
  return p;
}
