import { join } from "node:path";
import type { SnapshotManifest } from "../snapshot/format.js";
import type { ReplicaState } from "../snapshot/replica.js";

/** What a snapshot holds, zone by zone and node by node, and the files whose checksum differs. */
export function manifestText(dir: string, m: SnapshotManifest, damaged: readonly string[]): string {
  const lines = [
    `snapshot ${dir}: ${m.shape}, from ${m.source.kind} (${m.source.description}), ${m.createdAt}`,
    `  kubernetes objects: ${m.kubernetes === undefined ? "none (names come from the OVN databases)" : `${String(m.kubernetes.objects)} (${m.kubernetes.source})`}`,
    ...m.zones.map(
      (z) =>
        `  zone ${z.name}: ${[z.nb === undefined ? undefined : "NB", z.sb === undefined ? undefined : "SB"].filter((x) => x !== undefined).join(" + ") || "no databases"}${z.missing.length > 0 ? `, missing ${z.missing.join(", ")}` : ""}`,
    ),
    ...m.nodes.map(
      (n) =>
        `  node ${n.name} (zone ${n.zone}): ${n.status}, bridges ${n.bridges.map((b) => b.name).join(", ") || "none"}${n.ovsVersion === undefined ? "" : `, OVS ${n.ovsVersion}`}${n.ovnVersion === undefined ? "" : `, OVN ${n.ovnVersion}`}${n.missing.length > 0 ? `; missing ${n.missing.join(", ")}` : ""}`,
    ),
    ...m.problems.map((p) => `  problem: ${p}`),
    ...damaged.map((f) => `  damaged: ${f} (checksum differs from the manifest)`),
  ];
  return lines.join("\n");
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A script to source for running ovs-*, ovn-* by hand on one node of the replica (`env` gives a node's
 * environment).
 */
export function activateScript(
  s: ReplicaState,
  env: (node: string) => Readonly<Record<string, string | undefined>>,
): string {
  const cases = s.nodes.map((n) => {
    const nodeEnv = env(n.name);
    const vars = Object.keys(nodeEnv)
      .filter((k) => /^(OVS|OVN)_/.test(k))
      .sort()
      .map((k) => `export ${k}=${quote(nodeEnv[k] ?? "")}`);
    return `  ${quote(n.name)}) ${vars.join("; ")} ;;`;
  });
  return [
    "# source this file with a node name: . activate NODE; then ovs-vsctl show, ovs-appctl ofproto/trace br-int ..., ovn-nbctl show, ovn-trace ...",
    'case "${1:-}" in',
    ...cases,
    `  *) echo "usage: . ${join(s.dir, "activate")} NODE (one of: ${s.nodes.map((n) => n.name).join(" ")})" >&2 ;;`,
    "esac",
    "",
  ].join("\n");
}

/** A running replica: its zones' databases and nodes' OVS, and how to use them by hand. */
/** The zone's resident ovn-trace daemons, if it has some (a big SB loaded once for every run). */
const residents = (r: ReplicaState["zones"][number]["ovnTraces"]): string =>
  r === undefined || r.length === 0
    ? ""
    : `\n    ovn-trace daemons (SB loaded once for every run): ${r.map((x) => `--ct=${x.ct}`).join(", ")}`;

export function replicaText(s: ReplicaState): string {
  const lines = [
    `replica of ${s.snapshot} in ${s.dir}${s.startMs === undefined ? "" : ` (started in ${String(s.startMs)} ms)`}`,
  ];
  for (const z of s.zones)
    lines.push(
      `  zone ${z.name}: NB ${z.dbs.nb ?? "-"}  SB ${z.dbs.sb ?? "-"}${residents(z.ovnTraces)}${z.problems.map((p) => `\n    problem: ${p}`).join("")}`,
    );
  for (const n of s.nodes)
    lines.push(
      `  node ${n.name}: ${n.ovs ? `OVS at ${join(n.dir, "db.sock")}` : "no OVS"}${n.problems.map((p) => `\n    problem: ${p}`).join("")}`,
    );
  lines.push(`  by hand: . ${join(s.dir, "activate")} NODE`);
  return lines.join("\n");
}
