/**
 * Finds the sos reports in what the user gave (an archive or a directory) and gives read access to
 * the few files of each that a snapshot needs. Only those members of an archive are extracted (one tar
 * pass, wildcards), into a scratch directory the caller removes. Reads never leave a report's
 * directory, whatever symlinks it holds.
 */

import { lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, join, sep } from "node:path";
import { InputError } from "../errors.js";
import { run } from "../ovs/exec.js";
import { describeFailure, type ExecResult } from "../cluster/backend.js";

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

/**
 * Members of a report worth extracting, relative to its top directory, as tar wildcards (`*` matches
 * `/` too). The marker directories themselves are extracted without their contents (--no-recursion),
 * so that a report with nothing else is still found.
 */
export const WANTED_MEMBERS: readonly string[] = [
  ...REPORT_MARKERS,
  "sos_commands/openvswitch/*",
  "sos_commands/ovn*/*",
  "sos_commands/rpm/*",
  "sos_commands/host/hostname*",
  "hostname",
  "etc/hostname",
  ...CONF_DB_DIRS.map((d) => `${d}/conf.db`),
  ...OVN_DB_DIRS.flatMap((d) => [`${d}/ovnnb_db.db`, `${d}/ovnsb_db.db`]),
];

/** Opens one input: an extracted report directory (or a directory of several) or an archive. */
export async function openSosInput(input: string, scratch: string): Promise<OpenedSosInput> {
  let isDir: boolean;
  try {
    isDir = statSync(input).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${input}: ${code === "ENOENT" ? "no such file or directory" : String(e)}`, {
      hint: "give a sos report archive (.tar.xz, .tar.gz, .tgz, .tar) or an extracted sos report directory",
    });
  }
  return isDir ? reportsIn(input, input, []) : openArchive(input, scratch);
}

/** The reports under `dir`; their origin is `input`, plus the report's path when there are several. */
function reportsIn(input: string, dir: string, problems: string[]): OpenedSosInput {
  const roots = findReportDirs(dir, 0);
  const multiple = roots.length > 1;
  return {
    reports: roots.map((root) => ({
      origin: multiple ? `${input} (${root.slice(dir.length).replace(/^\/+/, "")})` : input,
      root,
      label: root === dir ? archiveStem(input) : basename(root),
      problems: [],
    })),
    problems,
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

/** tar's complaints, without those about wanted members the archive does not have. */
function tarErrors(r: ExecResult): string[] {
  if (r.timedOut) return [`tar timed out after ${r.durationMs} ms`];
  const lines = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(
      (l) =>
        l !== "" &&
        !/: Not found in archive$/.test(l) &&
        !/^(?:\S*\/)?tar: Exiting with failure status/.test(l),
    );
  if (lines.length === 0 && r.exitCode > 2) return [describeFailure(r)];
  return lines;
}

/**
 * Extracts the wanted members of an archive in one pass (GNU tar detects the compression itself),
 * then finds the reports in what came out.
 */
async function openArchive(input: string, scratch: string): Promise<OpenedSosInput> {
  const dest = mkdtempSync(join(scratch, "x-"));
  const patterns = WANTED_MEMBERS.flatMap((p) => [p, `*/${p}`]);
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
      "--no-recursion",
      "--wildcards",
      "--wildcards-match-slash",
      "--anchored",
      "--",
      ...patterns,
    ],
    { timeoutMs: TAR_TIMEOUT_MS },
  );
  const errors = tarErrors(x);
  const found = reportsIn(input, dest, []);
  if (found.reports.length === 0) {
    if (errors.length > 0) {
      throw new InputError(`${input} is not a readable archive: ${errors.slice(0, 3).join(" | ")}`, {
        hint: "give a sos report as .tar.xz, .tar.gz, .tgz or .tar, or extract it and give the directory",
      });
    }
    throw new InputError(`${input} is not a sos report: it has no sos_commands/ or sos_logs/ directory`, {
      hint: "give the sos report archive (sosreport-<host>-....tar.xz) taken on the node",
    });
  }
  const problems =
    errors.length === 0
      ? []
      : [
          `${input} could not be read to the end (${errors.slice(0, 3).join(" | ")}): used what was extracted`,
        ];
  return { reports: found.reports, problems };
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

/** Larger than any real dump or database of a node (a decompression bomb is not read). */
const MAX_REPORT_FILE_BYTES = 512 * 2 ** 20;

/** A regular file of the report, or undefined when absent (or not a regular file inside the report, or huge). */
export function readReportFile(report: SosReportDir, rel: string): Buffer | undefined {
  const real = resolveInside(report, rel);
  if (real === undefined) return undefined;
  try {
    const st = statSync(real);
    if (!st.isFile()) {
      report.problems.push(`${report.origin}: ${rel} is not a regular file; not read`);
      return undefined;
    }
    if (st.size > MAX_REPORT_FILE_BYTES) {
      report.problems.push(
        `${report.origin}: ${rel} is ${String(Math.round(st.size / 2 ** 20))} MiB, larger than any real output; not read`,
      );
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
