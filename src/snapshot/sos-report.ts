/**
 * What one sos report holds for a snapshot. File names are those of the sos plugins (commands mangled
 * by sos: spaces → `_`, `/` → `.`):
 *
 * - openvswitch plugin (`sos_commands/openvswitch/`): `ovs-vsctl_-t_5_list-br`, per bridge
 *   `ovs-ofctl_dump-flows_<br>` and, for each OpenFlow version the bridge allows,
 *   `ovs-ofctl_-O_OpenFlow1N_{dump-flows,dump-groups,dump-tlv-map}_<br>`; `ovs-appctl_ovs.route.show`,
 *   `ovs-appctl_tnl.arp.show` (the same table as tnl/neigh/show), `ovs-ofctl_-t_5_--version`;
 *   copies of `conf.db` from var/lib/openvswitch, etc/openvswitch, usr/local/etc/openvswitch.
 *   It has no `dpif/show`; `ovs-appctl_dpif.show` is read if some other collection put it there.
 * - ovn_host plugin (`sos_commands/ovn_host/`): `ovs-ofctl_-O_OpenFlow13_dump-flows_br-int`, `ovs-vsctl_list-br`.
 * - ovn_central plugin: copies of `ovnnb_db.db` / `ovnsb_db.db` (see OVN_DB_DIRS).
 * - sos 3.x reports lack dump-groups and dump-tlv-map (ovs-dbg PR #113).
 */

import { looksLikeTlvMap } from "../parsers/tlv-map.js";
import type { CollectedBridge, CollectedNode, CollectedRuntime } from "./sos-assemble.js";
import { collectedBridge, isSafeName } from "./sos-assemble.js";
import {
  CONF_DB_DIRS,
  listReportDir,
  OVN_DB_DIRS,
  readReportFile,
  readReportText,
  reportFileExists,
  reportFileMtime,
  type SosReportDir,
} from "./sos-archive.js";
import {
  bridgeNamesOf,
  DB_FILE,
  hostnameOf,
  integrationBridgeOf,
  loadDbFile,
  ovsVersionOf,
  ROLE_OF_SCHEMA,
  type DbRole,
  type LoadedDb,
} from "./sos-db.js";
import {
  firstRejected,
  flowsUseMeters,
  isUsableDump,
  restorableFlows,
  restorableGroups,
} from "./flow-dump.js";

const OVS_DIR = "sos_commands/openvswitch";
/** Where OpenFlow dumps may be, best first. */
const COMMAND_DIRS = [OVS_DIR, "sos_commands/ovn_host", "sos_commands/ovn_central"];

/** How sos names a command's output file (sos/report/plugins/__init__.py `_mangle_command`). */
export function mangleCommand(command: string): string {
  return command
    .replace(/^\/(?:usr\/)?s?bin\//, "")
    .replace(/[^\w\-./]+/g, "_")
    .replace(/\//g, ".")
    .replace(/^[ ._-]+|[ ._-]+$/g, "")
    .slice(0, 255);
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

type DumpCommand = "dump-flows" | "dump-groups" | "dump-tlv-map";

interface DumpFile {
  readonly rel: string;
  /** 10..15 for `-O OpenFlow1N`, 9 for the plain command (OpenFlow 1.0 with Nicira extensions). */
  readonly version: number;
}

/** What a report's node needs, looked up once. */
class ReportReader {
  readonly missing: string[] = [];
  private readonly commandFiles: { dir: string; names: string[] }[];

  constructor(
    readonly report: SosReportDir,
    private readonly problems: string[],
  ) {
    this.commandFiles = COMMAND_DIRS.map((dir) => ({ dir, names: listReportDir(report, dir) }));
  }

  problem(text: string): void {
    this.problems.push(`${this.report.origin}: ${text}`);
  }

  hasOvsCommands(): boolean {
    return this.commandFiles.some((d) => d.names.length > 0);
  }

  commandText(dir: string, name: string): string | undefined {
    const entry = this.commandFiles.find((d) => d.dir === dir);
    return entry?.names.includes(name) === true ? readReportText(this.report, `${dir}/${name}`) : undefined;
  }

  /** Dump files of a bridge for one command, best first: highest OpenFlow version, openvswitch plugin first. */
  dumpFiles(command: DumpCommand, bridge: string): DumpFile[] {
    const re = new RegExp(`^ovs-ofctl_(?:-O_OpenFlow1(\\d)_)?${command}_${escapeRe(mangleCommand(bridge))}$`);
    const found: DumpFile[] = [];
    for (const { dir, names } of this.commandFiles) {
      for (const name of names) {
        const m = re.exec(name);
        if (m !== null)
          found.push({ rel: `${dir}/${name}`, version: m[1] === undefined ? 9 : 10 + Number(m[1]) });
      }
    }
    return found.sort((a, b) => b.version - a.version);
  }

  /** Bridges with a dump-flows file, from the file names (the last resort for the bridge list). */
  bridgesFromDumpNames(): string[] {
    const names = new Set<string>();
    for (const { names: files } of this.commandFiles) {
      for (const f of files) {
        const m = /^ovs-ofctl_(?:-O_OpenFlow1\d_)?dump-flows_(.+)$/.exec(f);
        if (m?.[1] !== undefined) names.add(m[1]);
      }
    }
    return [...names].sort();
  }

  /**
   * The best copy of a database among `dirs`: the most recently modified one that reads, of the right
   * schema. Copies that do not read are named in the problems; if none does, the file is missing.
   */
  async database(role: DbRole, dirs: readonly string[], scratch: string): Promise<LoadedDb | undefined> {
    const file = DB_FILE[role];
    const candidates = dirs
      .map((d) => `${d}/${file}`)
      .filter((rel) => reportFileExists(this.report, rel))
      .sort((a, b) => reportFileMtime(this.report, b) - reportFileMtime(this.report, a));
    for (const rel of candidates) {
      const bytes = readReportFile(this.report, rel);
      if (bytes === undefined) continue;
      const load = await loadDbFile(bytes, `${this.report.origin}: ${rel}`, scratch);
      if (!load.ok) {
        this.problems.push(`${load.reason}; skipped`);
        continue;
      }
      const { db } = load.loaded;
      if (ROLE_OF_SCHEMA[db.name] !== role) {
        const what = db.name.startsWith("OVN_IC_")
          ? `an OVN interconnection database (${db.name}), not a zone's`
          : `a ${db.name} database, not ${file}`;
        this.problem(`${rel} is ${what}; ignored`);
        continue;
      }
      if (candidates.length > 1) this.problem(`${file} found in ${candidates.join(", ")}; used ${rel}`);
      this.problems.push(...load.loaded.notes);
      return load.loaded;
    }
    // a zone's databases are only in the reports of the nodes that ran them
    if (role === "conf" || candidates.length > 0) this.missing.push(file);
    return undefined;
  }
}

/** The first line of a file, trimmed. */
function firstLine(text: string | undefined): string | undefined {
  return text?.split("\n")[0]?.trim();
}

function nodeName(r: ReportReader, conf: LoadedDb | undefined): string {
  const candidates = [
    conf === undefined ? undefined : hostnameOf(conf.db),
    firstLine(readReportText(r.report, "sos_commands/host/hostname")),
    firstLine(readReportText(r.report, "hostname")),
    firstLine(readReportText(r.report, "etc/hostname")),
  ];
  const name = candidates.find((c): c is string => c !== undefined && isSafeName(c));
  return name ?? r.report.label;
}

/** `ovs-vsctl list-br` output: bridge names, or undefined when the file holds something else (an error). */
export function parseListBr(text: string): string[] | undefined {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (lines.length === 0 || !lines.every((l) => /^[^\s:/]+$/.test(l))) return undefined;
  return lines;
}

function bridgeList(r: ReportReader, conf: LoadedDb | undefined): string[] {
  for (const [dir, name] of [
    [OVS_DIR, "ovs-vsctl_-t_5_list-br"],
    [OVS_DIR, "ovs-vsctl_list-br"],
    ["sos_commands/ovn_host", "ovs-vsctl_list-br"],
  ] as const) {
    const text = r.commandText(dir, name);
    if (text === undefined) continue;
    const bridges = parseListBr(text);
    if (bridges !== undefined) return bridges;
    r.problem(`${dir}/${name} holds no bridge list (${JSON.stringify(firstLine(text) ?? "")})`);
  }
  if (conf !== undefined) {
    const bridges = bridgeNamesOf(conf.db);
    if (bridges.length > 0) return bridges;
  }
  return r.bridgesFromDumpNames();
}

function ofVersion(v: number): string {
  return v === 9 ? "OpenFlow 1.0 (plain ovs-ofctl)" : `OpenFlow 1.${v - 10}`;
}

/** The best usable dump of a bridge for one command, converted; the unusable ones better than it are named. */
function bestDump(
  r: ReportReader,
  bridge: string,
  command: DumpCommand,
  convert: (text: string) => { text: string; usable: boolean; why: string },
): { text: string; file: DumpFile } | undefined {
  for (const file of r.dumpFiles(command, bridge)) {
    const raw = readReportText(r.report, file.rel);
    if (raw === undefined) continue;
    const c = convert(raw);
    if (c.usable) return { text: c.text, file };
    r.problem(`${file.rel} is not a usable ${command} output (${c.why}); skipped`);
  }
  return undefined;
}

function collectBridge(r: ReportReader, bridge: string, integration: string): CollectedBridge {
  const flows = bestDump(r, bridge, "dump-flows", (text) => {
    const d = restorableFlows(text);
    if (isUsableDump(d) && d.rejected.length > 0)
      r.problem(
        `${bridge}: ${d.rejected.length} lines of the flow dump are not flows, left out (first: ${firstRejected(d)})`,
      );
    return { text: d.text, usable: isUsableDump(d), why: firstRejected(d) };
  });
  const groups = bestDump(r, bridge, "dump-groups", (text) => {
    const d = restorableGroups(text);
    return { text: d.text, usable: isUsableDump(d), why: firstRejected(d) };
  });
  const tlvMap = bestDump(r, bridge, "dump-tlv-map", (text) => ({
    text,
    usable: looksLikeTlvMap(text),
    why: JSON.stringify(firstLine(text)?.slice(0, 120) ?? ""),
  }));
  if (flows !== undefined && flows.file.version < 15)
    r.problem(`${bridge}: flows come from an ${ofVersion(flows.file.version)} dump`);
  const notes: string[] = [];
  const collected = collectedBridge(
    bridge,
    { flows: flows?.text, groups: groups?.text, tlvMap: tlvMap?.text },
    r.missing,
    bridge === integration ? { notes } : undefined,
  );
  for (const n of notes) r.problem(n);
  if (collected.flows !== undefined && flowsUseMeters(collected.flows))
    r.problem(`${bridge}: flows use meters, which sos reports do not dump`);
  return collected;
}

/** An appctl output worth keeping: not empty, not an error message. */
function runtimeText(r: ReportReader, ...names: string[]): string | undefined {
  for (const name of names) {
    const text = r.commandText(OVS_DIR, name);
    if (text === undefined) continue;
    if (text.trim() === "" || /^ovs-appctl: /.test(text)) {
      r.problem(`${OVS_DIR}/${name} holds no output (${JSON.stringify(firstLine(text) ?? "")}); skipped`);
      continue;
    }
    return text;
  }
  return undefined;
}

function collectRuntime(r: ReportReader): CollectedRuntime {
  const dpifShow = runtimeText(r, mangleCommand("ovs-appctl dpif/show"));
  const routes = runtimeText(r, mangleCommand("ovs-appctl ovs/route/show"));
  const tunnelNeighbors = runtimeText(
    r,
    mangleCommand("ovs-appctl tnl/neigh/show"),
    mangleCommand("ovs-appctl tnl/arp/show"),
  );
  return {
    ...(dpifShow === undefined ? {} : { dpifShow }),
    ...(routes === undefined ? {} : { routes }),
    ...(tunnelNeighbors === undefined ? {} : { tunnelNeighbors }),
  };
}

function ovsVersion(r: ReportReader, conf: LoadedDb | undefined): string | undefined {
  const fromDb = conf === undefined ? undefined : ovsVersionOf(conf.db);
  if (fromDb !== undefined && fromDb !== "") return fromDb;
  for (const name of ["ovs-ofctl_-t_5_--version", "ovs-vsctl_-V", "ovs-vswitchd_--version"]) {
    const m = /\(Open vSwitch\) (\d\S*)/.exec(r.commandText(OVS_DIR, name) ?? "");
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/** From `sos_commands/rpm/package-data` (`ovn23.09-host-23.09.0-69.el9fdp.x86_64 ...`). */
function ovnVersion(r: ReportReader): string | undefined {
  const text = readReportText(r.report, "sos_commands/rpm/package-data") ?? "";
  return /^(?:openvswitch-)?ovn[\d.]*-host-(\d+(?:\.\d+)+)/m.exec(text)?.[1];
}

/** What the snapshot looks for in a report, for the message when none of it is there. */
export const LOOKED_FOR =
  `sos_commands/openvswitch/ovs-ofctl_-O_OpenFlow15_dump-flows_<bridge> (or another OpenFlow version), ` +
  `conf.db under ${CONF_DB_DIRS.join(", ")}, and ovnnb_db.db / ovnsb_db.db under ${OVN_DB_DIRS.join(", ")}`;

/** Reads one sos report into what the snapshot keeps of its node. */
export async function collectSosReport(
  report: SosReportDir,
  scratch: string,
  problems: string[],
): Promise<CollectedNode> {
  const r = new ReportReader(report, problems);
  const confDb = await r.database("conf", CONF_DB_DIRS, scratch);
  const nb = await r.database("nb", OVN_DB_DIRS, scratch);
  const sb = await r.database("sb", OVN_DB_DIRS, scratch);
  const name = nodeName(r, confDb);
  const hasOvs = confDb !== undefined || r.hasOvsCommands();
  const bridges = hasOvs
    ? bridgeList(r, confDb).map((b) => collectBridge(r, b, integrationBridgeOf(confDb?.db)))
    : [];
  if (hasOvs && bridges.length === 0) r.missing.push("bridges");
  const usable =
    confDb !== undefined ||
    bridges.some((b) => b.flows !== undefined) ||
    nb !== undefined ||
    sb !== undefined;
  const runtime = collectRuntime(r);
  const ovs = ovsVersion(r, confDb);
  const ovn = ovnVersion(r);
  problems.push(...report.problems);
  return {
    origin: report.origin,
    name,
    ...(confDb === undefined ? {} : { confDb }),
    ...(nb === undefined ? {} : { nb }),
    ...(sb === undefined ? {} : { sb }),
    bridges,
    runtime,
    missing: r.missing,
    ...(ovs === undefined ? {} : { ovsVersion: ovs }),
    ...(ovn === undefined ? {} : { ovnVersion: ovn }),
    ...(usable ? {} : { error: `no Open vSwitch or OVN data in ${report.origin}: looked for ${LOOKED_FOR}` }),
  };
}
