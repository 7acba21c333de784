import { join } from "node:path";
import type { OvnDbs } from "../ovs/daemon.js";
import type { LabCluster, LabNode } from "./cluster.js";

/**
 * Where every daemon of a lab lives. One directory per daemon group, so pidfiles, logs and
 * unixctl sockets of the several ovsdb-servers of a node never collide.
 */
export interface LabLayout {
  readonly dir: string;
  readonly stateFile: string;
  readonly kubernetesFile: string;
  readonly lockFile: string;
  readonly fabric: string;
  /** A node's OVS (conf.db, ovs-vswitchd) and ovn-controller. */
  node(name: string): string;
  pcapDir(node: string): string;
  /** Directory of a zone's NB or SB ovsdb-server, or of its ovn-northd. */
  zone(zone: string, part: "nb" | "sb" | "northd"): string;
  dbs(zone: string): Required<OvnDbs>;
  fabricSocket(nodeIndex: number): string;
}

export function labLayout(dir: string): LabLayout {
  const zoneDir = (zone: string): string => (zone === "global" ? join(dir, "central") : join(dir, zone));
  return {
    dir,
    stateFile: join(dir, "lab.json"),
    kubernetesFile: join(dir, "kubernetes.json"),
    lockFile: join(dir, ".lock"),
    fabric: join(dir, "fabric"),
    node: (name) => join(dir, name),
    pcapDir: (name) => join(dir, name, "pcap"),
    zone: (zone, part) => join(zoneDir(zone), part),
    dbs: (zone) => ({
      nb: `unix:${join(zoneDir(zone), "nb", "ovnnb_db.sock")}`,
      sb: `unix:${join(zoneDir(zone), "sb", "ovnsb_db.sock")}`,
    }),
    fabricSocket: (i) => join(dir, "fabric", `wire${i}.sock`),
  };
}

/** Zones of a cluster, each with the nodes it owns. */
export function zones(c: LabCluster): { zone: string; nodes: LabNode[] }[] {
  if (c.shape === "central") return [{ zone: "global", nodes: [...c.nodes] }];
  return c.nodes.map((n) => ({ zone: n.zone, nodes: [n] }));
}

/** Unix socket paths are limited to 107 bytes; returns the longest path a lab in `dir` would use. */
export function longestSocketPath(dir: string, c: LabCluster): string {
  const l = labLayout(dir);
  const candidates = c.nodes.flatMap((n) => [
    join(l.node(n.name), "ovs-vswitchd.4194304.ctl"),
    join(l.node(n.name), "ovn-controller.4194304.ctl"),
    l.dbs(n.zone).sb.slice("unix:".length),
    join(l.node(n.name), "br-int.mgmt"),
  ]);
  return candidates.reduce((a, b) => (b.length > a.length ? b : a), "");
}
