import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";
import type { LabCluster } from "./cluster.js";

/**
 * What a lab of a given size costs, so that `lab up` waits as long as the work takes (and no longer), and does
 * not start a lab the machine cannot hold. The work is about the OpenFlow flows every node installs: each
 * node's ovn-controller computes them and its ovs-vswitchd holds them. Its largest part is the Service load
 * balancers, once per logical datapath they are applied to that is local to the node: in a central cluster
 * every node switch is (they all hang off the distributed ovn_cluster_router) plus the node's gateway router,
 * so that part grows with nodes x services on every node; in an interconnect one, a node has only its own switch
 * and gateway router. Calibrated on this lab (OVN 23.03, OVS 3.1): 25 central nodes with 1,000 pods and 300
 * Services hold ~42,000 flows a node, ~200 MiB of ovn-controller + ovs-vswitchd + ovsdb-server; 2 central nodes
 * with 36,000 Services ~430,000 flows, 2.2 GiB a node.
 */

/** OpenFlow flows one node of the cluster holds, roughly. */
export function flowsPerNode(c: LabCluster): number {
  const lbDatapaths = c.shape === "central" ? c.nodes.length + 1 : 2;
  const vips = c.services.reduce(
    (n, s) =>
      n + s.ports.length * Math.max(1, Object.keys(s.clusterIPs).length) * (s.type === "NodePort" ? 2 : 1),
    0,
  );
  // a central node has every pod's port flows; an interconnect one its own pods', the others' only in address sets
  const podFlows =
    c.shape === "central" ? 8 * c.pods.length : 8 * (c.pods.length / c.nodes.length) + c.pods.length;
  return 2000 + 4.5 * lbDatapaths * vips + podFlows + 10 * c.networkPolicies.length;
}

/**
 * Resident memory of the lab's daemons, roughly (MiB): per node ~4 KiB a flow (ovn-controller's desired and
 * installed flows, ovs-vswitchd's rules) on top of ~50 MiB; per zone its NB, SB and northd, which grow with the
 * Services (load balancers: ~3 kB of SB each) and pods, the SB also with every ovn-controller it serves.
 * Within ~20% (above) of what this lab measured from 2 to 100 nodes.
 */
export function estimateMemoryMib(c: LabCluster): number {
  const zones = c.shape === "central" ? 1 : c.nodes.length;
  const perNode = 50 + (flowsPerNode(c) * 4) / 1024;
  const clients = c.nodes.length / zones;
  const perZone = 40 + (0.052 * c.services.length + 0.0144 * c.pods.length) * (1 + clients / 3);
  return Math.round(c.nodes.length * perNode + zones * perZone);
}

/**
 * How long `lab up` may wait for OVN to catch up (northd computing the SB, every ovn-controller its flows), and
 * how long any one of its commands may take: a minute, plus ~0.2 ms per flow of the whole lab (several times
 * what a busy 2-core machine needs), so a big lab is never cut off while a wait that makes no progress still
 * ends early (see Starter.waitFor).
 */
export function labBudgetMs(c: LabCluster): number {
  return Math.round(60_000 + c.nodes.length * flowsPerNode(c) * 0.2);
}

/** MemAvailable of /proc/meminfo in MiB, or undefined where there is none. */
export function availableMemoryMib(): number | undefined {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    return m?.[1] === undefined ? undefined : Math.round(Number(m[1]) / 1024);
  } catch {
    return undefined;
  }
}

/**
 * Refuses a lab that would not fit in the memory available now: better than starting hundreds of daemons that
 * end in the out-of-memory killer (which picks whichever process it likes, not only the lab's). Small labs are
 * never refused.
 */
export function checkLabFits(c: LabCluster, availableMib = availableMemoryMib()): void {
  const need = estimateMemoryMib(c);
  if (need < 2048 || availableMib === undefined || need <= availableMib) return;
  const gib = (mib: number): string => (mib / 1024).toFixed(1);
  throw new InputError(
    `a lab of ${String(c.nodes.length)} ${c.shape} nodes, ${String(c.pods.length)} pods and ${String(c.services.length)} services needs about ${gib(need)} GiB of memory; ${gib(availableMib)} GiB is available`,
    {
      hint:
        c.shape === "central"
          ? `each central node's ovn-controller and ovs-vswitchd hold every node switch's load balancers (~${String(Math.round(flowsPerNode(c) / 1000))}k flows a node): use fewer nodes or services, or --shape interconnect`
          : "use fewer nodes, pods or services",
    },
  );
}
