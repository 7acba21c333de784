import type { ClusterBackend } from "../cluster/backend.js";
import { backupScript } from "../engine/ovn-dbs.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { describeFailure } from "../ovs/exec.js";
import { nodeOvsFromDatabase, type DecodeSources } from "./decode.js";

/**
 * The databases `explain` decodes a trace with, read through the backend on the node the trace was taken on:
 * its zone's NB and SB, and its Open_vSwitch database (interfaces by ofport, conntrack zones). Each is
 * optional: one that cannot be read is reported in `missing` and its values decode to "unknown".
 */

export interface NodeSources {
  readonly sources: DecodeSources;
  /** What could not be read, and why ("southbound database: ..."). */
  readonly missing: readonly string[];
}

/** `ovsdb-client backup` of the node's Open_vSwitch database ($OVS_RUNDIR in the lab, /var/run/openvswitch on a node). */
export const OVS_BACKUP_SCRIPT =
  'exec ovsdb-client backup "unix:${OVS_RUNDIR:-/var/run/openvswitch}/db.sock" Open_vSwitch';

async function backup(b: ClusterBackend, node: string, script: string): Promise<OvsdbDatabase> {
  const r = await b.execOnNode(node, ["sh", "-c", script], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new Error(describeFailure(r));
  return readOvsdbFile(Buffer.from(r.stdout, "utf8"));
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function readNodeSources(b: ClusterBackend, node: string): Promise<NodeSources> {
  const [nb, sb, ovs] = await Promise.allSettled([
    backup(b, node, backupScript("NB")),
    backup(b, node, backupScript("SB")),
    backup(b, node, OVS_BACKUP_SCRIPT),
  ]);
  const missing: string[] = [];
  if (nb.status === "rejected") missing.push(`northbound database of ${node}'s zone: ${why(nb.reason)}`);
  if (sb.status === "rejected") missing.push(`southbound database of ${node}'s zone: ${why(sb.reason)}`);
  if (ovs.status === "rejected") missing.push(`Open_vSwitch database of ${node}: ${why(ovs.reason)}`);
  return {
    sources: {
      ...(nb.status === "fulfilled" ? { nb: nb.value } : {}),
      ...(sb.status === "fulfilled" ? { sb: sb.value } : {}),
      ...(ovs.status === "fulfilled" ? { node: nodeOvsFromDatabase(ovs.value) } : {}),
    },
    missing,
  };
}
