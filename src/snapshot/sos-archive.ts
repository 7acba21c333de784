/**
 * Finds the sos reports in what the user gave (an archive or a directory) and gives read access to
 * the few files of each that a snapshot needs. Archives are listed with `tar -t` first and only those
 * members are extracted, into a scratch directory the caller removes. Reads never leave a report's
 * directory, whatever symlinks it holds.
 */

import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join, sep } from "node:path";
import { InputError } from "../errors.js";
import { describeFailure, run, type ExecResult } from "../ovs/exec.js";

/** One sos report (= one node), extracted or as the user gave it. */
export interface SosReportDir {
  /** Where it came from, for messages: the archive or directory as given (plus the report inside). */
  readonly origin: string;
  /** Directory holding sos_commands/, etc/, var/... */
  readonly root: string;
  /** The report's own name (`sosreport-<host>-...`), the last resort for the node name. */
  readonly label: string;
  /** Files that could not be used (a symlink out of the report, a device...), one sentence each. */
  readonly problems: string[];
}

export interface OpenedSosInput {
  readonly reports: readonly SosReportDir[];
  /** Problems with the input as a whole (a damaged archive that was read in part...). */
  readonly problems: readonly string[];
}

const TAR_TIMEOUT_MS = 600_000;
/** How deep under a directory or archive root a report's top directory may sit. */
const MAX_REPORT_DEPTH = 3;
const REPORT_MARKERS = ["sos_commands", "sos_logs"];

/** The places, relative to a report's top directory, where Open vSwitch and OVN DB files may be. */
export const CONF_DB_DIRS = ["var/lib/openvswitch", "etc/openvswitch", "usr/local/etc/openvswitch"] as const;
export const OVN_DB_DIRS = [
  "var/lib/openvswitch/ovn",
  "usr/local/etc/openvswitch",
  "etc/openvswitch",
  "var/lib/openvswitch",
  "var/lib/ovn/etc",
  "var/lib/ovn-ic/etc",
  "etc/ovn",
  "var/lib/ovn",
] as const;

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** Members of a report worth extracting (paths relative to its top directory). */
const WANTED: readonly RegExp[] = [
  /^sos_commands\/openvswitch\/[^/]+$/,
  /^sos_commands\/ovn[^/]*\/[^/]+$/,
  /^sos_commands\/rpm\/[^/]+$/,
  /^sos_commands\/host\/hostname[^/]*$/,
  /^(?:etc\/)?hostname$/,
  new RegExp(`^(?:${CONF_DB_DIRS.map(escapeRe).join("|")})/conf\\.db$`),
  new RegExp(`^(?:${OVN_DB_DIRS.map(escapeRe).join("|")})/ovn[ns]b_db\\.db$`),
];

export function isWantedMember(relative: string): boolean {
  return WANTED.some((re) => re.test(relative));
}

/** Opens one input: an extracted report directory (or a directory of several) or an archive. */
export async function openSosInput(input: string, scratch: string): Promise<OpenedSosInput> {
  let isDir: boolean;
  try {
    isDir = statSync(input).isDirectory();
  } catch (e) {
    throw new InputError(
      `${input}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : String(e)}`,
      {
        hint: "give a sos report archive (.tar.xz, .tar.gz, .tgz, .tar) or an extracted sos report directory",
      },
    );
  }
  return isDir ? openDirectory(input) : openArchive(input, scratch);
}

function openDirectory(input: string): OpenedSosInput {
  const roots = findReportDirs(input, 0);
  const multiple = roots.length > 1;
  return {
    reports: roots.map((root) => ({
      origin: multiple ? `${input} (${root.slice(input.length).replace(/^\/+/, "")})` : input,
      root,
      label: basename(root),
      problems: [],
    })),
    problems: [],
  };
}

function hasMarker(dir: string): boolean {
  return REPORT_MARKERS.some((m) => {
    try {
      return lstatSync(join(dir, m)).isDirectory();
    } catch {
      return false;
    }
  });
}

function findReportDirs(dir: string, depth: number): string[] {
  if (hasMarker(dir)) return [dir];
  if (depth >= MAX_REPORT_DEPTH) return [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .flatMap((name) => findReportDirs(join(dir, name), depth + 1));
}

/** A member name as `tar -t` lists it, without a leading `./`. */
function normalise(member: string): string {
  return member.replace(/^(?:\.\/)+/, "");
}

/** Report top directories among the members: the path before a `sos_commands` or `sos_logs` component. */
export function reportPrefixes(members: readonly string[]): string[] {
  const prefixes = new Set<string>();
  for (const m of members) {
    const parts = normalise(m).split("/");
    const i = parts.findIndex((p, k) => k < parts.length - 1 && REPORT_MARKERS.includes(p));
    if (i >= 0 && i <= MAX_REPORT_DEPTH) prefixes.add(parts.slice(0, i).join("/"));
  }
  const sorted = [...prefixes].sort((a, b) => a.length - b.length || a.localeCompare(b));
  // a report inside another one's tree (a copied sos_logs, say) is part of that report
  return sorted.filter((p) => !sorted.some((q) => q !== p && (q === "" || p.startsWith(`${q}/`))));
}

function tarFailure(input: string, r: ExecResult): string {
  const why = r.stderr.trim().split("\n").filter(Boolean);
  if (r.timedOut) return `tar timed out after ${r.durationMs} ms`;
  return why.length > 0 ? why.slice(0, 3).join(" | ") : describeFailure(r).replace(`${input}: `, "");
}

async function openArchive(input: string, scratch: string): Promise<OpenedSosInput> {
  const problems: string[] = [];
  const listed = await run(["tar", "-t", "--quoting-style=literal", "-f", input], {
    timeoutMs: TAR_TIMEOUT_MS,
  });
  const members = listed.stdout.split("\n").filter((m) => m !== "");
  if (listed.exitCode !== 0 || listed.timedOut) {
    const why = tarFailure(input, listed);
    if (members.length === 0) {
      throw new InputError(`${input} is not a readable archive: ${why}`, {
        hint: "give a sos report as .tar.xz, .tar.gz, .tgz or .tar, or extract it and give the directory",
      });
    }
    problems.push(
      `${input} is damaged (${why}): read the ${members.length} members listed before the damage`,
    );
  }
  const prefixes = reportPrefixes(members);
  if (prefixes.length === 0) {
    throw new InputError(`${input} is not a sos report: it has no sos_commands/ or sos_logs/ directory`, {
      hint: "give the archive sos report (sosreport-<host>-....tar.xz) produced on the node",
    });
  }
  const wanted = members.filter((m) => {
    const n = normalise(m);
    return prefixes.some((p) => {
      const rel = p === "" ? n : n.startsWith(`${p}/`) ? n.slice(p.length + 1) : undefined;
      return rel !== undefined && isWantedMember(rel);
    });
  });
  const dest = mkdtempSync(join(scratch, "x-"));
  if (wanted.length > 0) {
    const listFile = join(scratch, `${basename(dest)}.members`);
    writeFileSync(listFile, wanted.map((m) => `${m}\0`).join(""));
    const x = await run(
      [
        "tar",
        "-x",
        "-f",
        input,
        "-C",
        dest,
        "--no-same-owner",
        "--no-same-permissions",
        "--warning=no-timestamp",
        "--null",
        "--verbatim-files-from",
        "-T",
        listFile,
      ],
      { timeoutMs: TAR_TIMEOUT_MS },
    );
    if ((x.exitCode !== 0 || x.timedOut) && problems.length === 0)
      problems.push(`${input}: tar could not extract everything (${tarFailure(input, x)}); read what it did`);
  }
  const multiple = prefixes.length > 1;
  return {
    reports: prefixes.map((p) => ({
      origin: multiple ? `${input} (${p})` : input,
      root: p === "" ? dest : join(dest, p),
      label: p === "" ? archiveStem(input) : (p.split("/").at(-1) ?? p),
      problems: [],
    })),
    problems,
  };
}

/** `sosreport-x-2026.tar.xz` → `sosreport-x-2026`. */
export function archiveStem(path: string): string {
  return basename(path).replace(/\.(?:tar\.(?:xz|gz|bz2|zst)|tgz|txz|tar)$/i, "");
}

// ---------------------------------------------------------------------------------------------
// Reading inside a report
// ---------------------------------------------------------------------------------------------

const realRoots = new Map<string, string>();

function realRoot(report: SosReportDir): string {
  let r = realRoots.get(report.root);
  if (r === undefined) {
    r = realpathSync(report.root);
    realRoots.set(report.root, r);
  }
  return r;
}

/** The real path of `rel` when it is a regular file inside the report, else undefined (noted if suspicious). */
function resolveInside(report: SosReportDir, rel: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(join(report.root, rel));
  } catch {
    return undefined;
  }
  const root = realRoot(report);
  if (real !== root && !real.startsWith(root + sep)) {
    report.problems.push(`${report.origin}: ${rel} points out of the report (to ${real}); not read`);
    return undefined;
  }
  return real;
}

export function reportFileExists(report: SosReportDir, rel: string): boolean {
  const real = resolveInside(report, rel);
  try {
    return real !== undefined && statSync(real).isFile();
  } catch {
    return false;
  }
}

/** A regular file of the report, or undefined when absent (or not a regular file inside the report). */
export function readReportFile(report: SosReportDir, rel: string): Buffer | undefined {
  const real = resolveInside(report, rel);
  if (real === undefined) return undefined;
  try {
    if (!statSync(real).isFile()) {
      report.problems.push(`${report.origin}: ${rel} is not a regular file; not read`);
      return undefined;
    }
    return readFileSync(real);
  } catch (e) {
    report.problems.push(`${report.origin}: cannot read ${rel}: ${(e as Error).message}`);
    return undefined;
  }
}

export function readReportText(report: SosReportDir, rel: string): string | undefined {
  return readReportFile(report, rel)?.toString("utf8");
}

/** Modification time of a report file (ms), for choosing between copies of one database. */
export function reportFileMtime(report: SosReportDir, rel: string): number {
  const real = resolveInside(report, rel);
  try {
    return real === undefined ? 0 : statSync(real).mtimeMs;
  } catch {
    return 0;
  }
}

/** File names in a directory of the report (sorted), empty when it does not exist. */
export function listReportDir(report: SosReportDir, rel: string): string[] {
  const real = resolveInside(report, rel);
  if (real === undefined) return [];
  try {
    return readdirSync(real).sort();
  } catch {
    return [];
  }
}
