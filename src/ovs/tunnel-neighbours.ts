import { ProcessError } from "../errors.js";
import { unixctlCall } from "./unixctl.js";

/** What `ovs-appctl tnl/neigh/set BRIDGE IP MAC` sets: the MAC a tunnel to IP is sent to, out of BRIDGE. */
export interface TunnelNeighbour {
  readonly bridge: string;
  readonly ip: string;
  readonly mac: string;
}

/**
 * Sets a node's tunnel neighbours again, over its ovs-vswitchd control socket. ovs-vswitchd forgets a neighbour
 * 15 minutes after the last packet that used it, and nothing in a lab or a replica resolves it again (no kernel
 * answers ARP on a dummy datapath): a lab or replica left idle that long would drop every tunnelled packet, traced
 * or real, where a cluster's node would simply resolve the neighbour again. Setting an entry that exists only
 * renews it.
 */
export async function renewTunnelNeighbours(
  vswitchdSocket: string,
  neighbours: readonly TunnelNeighbour[],
  timeoutMs: number,
): Promise<void> {
  for (const n of neighbours) {
    const r = await unixctlCall(vswitchdSocket, "tnl/neigh/set", [n.bridge, n.ip, n.mac], timeoutMs);
    if (!r.ok) throw new ProcessError(`tnl/neigh/set ${n.bridge} ${n.ip} ${n.mac}: ${r.error}`);
  }
}
