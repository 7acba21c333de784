import type { ClusterBackend } from "../cluster/backend.js";
import { readNodeDatabases } from "../cluster/node-databases.js";
import { nodeOvsFromDatabase, type DecodeSources } from "../explain/decode.js";

/**
 * The databases `explain` decodes a trace with, read through the backend on the node the trace was taken on:
 * its zone's NB and SB, and its Open_vSwitch database (interfaces by ofport, conntrack zones). Each is
 * optional: one that cannot be read is reported in `missing` and its values decode to "unknown".
 */
export interface NodeSources {
  readonly sources: DecodeSources;
  /** What could not be read, and why. */
  readonly missing: readonly string[];
}

export async function readNodeSources(b: ClusterBackend, node: string): Promise<NodeSources> {
  const { nb, sb, ovs, missing } = await readNodeDatabases(b, node);
  return {
    sources: {
      ...(nb === undefined ? {} : { nb }),
      ...(sb === undefined ? {} : { sb }),
      ...(ovs === undefined ? {} : { node: nodeOvsFromDatabase(ovs) }),
    },
    missing,
  };
}
