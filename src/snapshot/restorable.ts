/**
 * Flow and group dumps in the form `ovs-ofctl -O OpenFlow15 replace-flows` / `add-groups` read back:
 * no reply headers, no statistics.
 */

const STATS = /\b(duration|n_packets|n_bytes|idle_age|hard_age|packet_count|byte_count)=[^,\s]+,?\s*/g;
const HEADER = /^\s*(NXST|OFPST|OFPST_\w+)_?\w* reply\b|^\s*(NXST_FLOW|OFPST_FLOW|OFPST_GROUP_DESC)\b/;

/** Flow lines without headers and statistics, one per line. */
export function restorableFlows(dump: string): string {
  const out: string[] = [];
  for (const line of dump.split("\n")) {
    if (line.trim() === "" || HEADER.test(line)) continue;
    out.push(line.replace(STATS, "").trim());
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

/** The `group_id=...` lines of a dump-groups output. */
export function restorableGroups(dump: string): string {
  const out = dump
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("group_id="));
  return out.length === 0 ? "" : out.join("\n") + "\n";
}
