/**
 * `snapshot collect --files`: a one-node snapshot from database files and OpenFlow dumps given by
 * hand. Each file's kind is read from its content (an OVSDB file's schema name; for text, the parser
 * registry's detection); a dump's bridge comes from `BRIDGE=FILE`, else the file name, else br-int.
 */

import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { InputError } from "../errors.js";
import { looksLikeTlvMap } from "../parsers/tlv-map.js";
import { detectKind } from "../parsers/registry.js";
import { firstRejected, isUsableDump, restorableFlows, restorableGroups } from "./flow-dump.js";
import type { SnapshotManifest } from "./format.js";
import { assembleSnapshot, collectedBridge, isSafeName, type CollectedNode } from "./sos-assemble.js";
import {
  bridgeNamesOf,
  DB_FILE,
  hostnameOf,
  loadDbFile,
  ovsVersionOf,
  ROLE_OF_SCHEMA,
  type DbRole,
  type LoadedDb,
} from "./sos-db.js";

export interface CollectFromFilesOptions {
  /** The node's name (default: the conf.db hostname, else "node"). */
  readonly node?: string;
  readonly progress?: (msg: string) => void;
}

export const DEFAULT_BRIDGE = "br-int";
const FILES_HINT =
  "give OVSDB files (conf.db, ovnnb_db.db, ovnsb_db.db) and ovs-ofctl dump-flows / dump-groups / " +
  "dump-tlv-map outputs; name a dump's bridge with BRIDGE=FILE (default br-int)";

type DumpKind = "flows" | "groups" | "tlv-map";

const DUMP_KIND: Readonly<Record<string, DumpKind>> = {
  "dump-flows": "flows",
  "dump-groups": "groups",
  "tlv-map": "tlv-map",
};

interface FileArg {
  readonly path: string;
  readonly bridge?: string;
}

/** `FILE` or `BRIDGE=FILE` (a file whose own name holds "=" wins). */
export function parseFileArg(arg: string): FileArg {
  if (isFile(arg)) return { path: arg };
  const m = /^([^=/]+)=(.+)$/.exec(arg);
  const path = m?.[2] ?? arg;
  if (!isFile(path)) {
    throw new InputError(`${path}: no such file`, { hint: FILES_HINT });
  }
  const bridge = m?.[1];
  if (bridge !== undefined && !isSafeName(bridge))
    throw new InputError(`"${bridge}" (in ${arg}) is not a bridge name`, { hint: FILES_HINT });
  return bridge === undefined ? { path } : { path, bridge };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The bridge a dump's file name names: `<br>.flows`, `<br>.groups`, `<br>.tlv-map`, `<br>.dump-flows`...
 * (optionally `.txt`), or a sos name `ovs-ofctl_-O_OpenFlow15_dump-flows_<br>`.
 */
export function bridgeFromFileName(path: string): string | undefined {
  const name = basename(path);
  const sos = /^ovs-ofctl_(?:-O_OpenFlow1\d_)?dump-(?:flows|groups|tlv-map)_(.+)$/.exec(name)?.[1];
  const own = /^(.+)\.(?:flows|groups|tlv-map|tlvmap|dump-flows|dump-groups|dump-tlv-map)(?:\.txt)?$/.exec(
    name,
  )?.[1];
  const bridge = sos ?? own;
  return bridge !== undefined && isSafeName(bridge) ? bridge : undefined;
}

interface BridgeDumps {
  flows?: { text: string; path: string };
  groups?: { text: string; path: string };
  "tlv-map"?: { text: string; path: string };
}

/** A dump converted to what the snapshot stores, or why it cannot be. */
function convertDump(kind: DumpKind, text: string): { text: string } | { why: string } {
  if (kind === "tlv-map") return looksLikeTlvMap(text) ? { text } : { why: "not a tlv-map" };
  const d = kind === "flows" ? restorableFlows(text) : restorableGroups(text);
  if (!isUsableDump(d)) return { why: firstRejected(d) };
  return { text: d.text };
}

/** Collects a one-node snapshot from files into `out` (a new or empty directory). */
export async function collectFromFiles(
  files: readonly string[],
  out: string,
  opts: CollectFromFilesOptions = {},
): Promise<SnapshotManifest> {
  if (files.length === 0) throw new InputError("no file given", { hint: FILES_HINT });
  if (opts.node !== undefined && !isSafeName(opts.node))
    throw new InputError(`"${opts.node}" is not a node name`, { hint: "give the Kubernetes node name" });
  const args = files.map(parseFileArg);
  const progress = opts.progress ?? (() => undefined);
  return assembleSnapshot(out, "ovnkube-trace-files-", async (asm, scratch) => {
    const given = new GivenFiles(asm.problems, progress, scratch);
    for (const arg of args) await given.read(arg);
    asm.add(nodeOfFiles(given, opts.node));
    return asm.finish({
      kind: "files",
      description: `files: ${args.map((a) => basename(a.path)).join(", ")}`,
    });
  });
}

/** What the files hold, sorted out as they are read: databases by role, dumps by bridge. */
class GivenFiles {
  readonly dbs: Partial<Record<DbRole, LoadedDb>> = {};
  readonly dumps = new Map<string, BridgeDumps>();
  /** The databases given that do not read; nodeOfFiles adds the parts not given. */
  readonly missing: string[] = [];
  /** What each file left unused turned out to be, for the message when nothing is usable. */
  readonly seen: string[] = [];

  constructor(
    private readonly problems: string[],
    private readonly progress: (msg: string) => void,
    private readonly scratch: string,
  ) {}

  async read(arg: FileArg): Promise<void> {
    const bytes = readInput(arg.path);
    const kind = detectKind(bytes);
    if (kind === "ovsdb-database") {
      await this.addDatabase(arg, bytes);
      return;
    }
    const dumpKind = kind === undefined ? undefined : DUMP_KIND[kind];
    if (dumpKind === undefined) {
      this.problems.push(
        `${arg.path} is not a database or a flow, group or tlv-map dump (${kind ?? "not recognised"}); ignored`,
      );
      this.seen.push(`${arg.path}: ${kind ?? "not recognised"}`);
      return;
    }
    this.addDump(arg, dumpKind, bytes);
  }

  /** One database per role (the files are one node's): a second one is a mistake. */
  private async addDatabase(arg: FileArg, bytes: Buffer): Promise<void> {
    if (arg.bridge !== undefined)
      this.problems.push(`${arg.path} is a database: bridge ${arg.bridge} ignored`);
    const load = await loadDbFile(bytes, arg.path, this.scratch);
    if (!load.ok) {
      this.problems.push(`${load.reason}; skipped`);
      const role = load.schemaName === undefined ? undefined : ROLE_OF_SCHEMA[load.schemaName];
      if (role !== undefined) this.missing.push(DB_FILE[role]);
      this.seen.push(`${arg.path}: damaged database`);
      return;
    }
    const { db } = load.loaded;
    const role = ROLE_OF_SCHEMA[db.name];
    if (role === undefined) {
      this.problems.push(`${arg.path} is a ${db.name} database, not one a snapshot holds; ignored`);
      this.seen.push(`${arg.path}: ${db.name} database`);
      return;
    }
    const twin = this.dbs[role];
    if (twin !== undefined)
      throw new InputError(`two ${db.name} databases given: ${twin.origin} and ${arg.path}`, {
        hint: "a --files snapshot is one node: give one conf.db, one NB and one SB",
      });
    this.dbs[role] = load.loaded;
    this.problems.push(...load.loaded.notes);
    this.progress(`${arg.path}: ${db.name} database`);
  }

  /** One dump of each kind per bridge: a second one is a mistake (its bridge is to be named). */
  private addDump(arg: FileArg, kind: DumpKind, bytes: Buffer): void {
    const bridge = arg.bridge ?? bridgeFromFileName(arg.path) ?? DEFAULT_BRIDGE;
    const entry = this.dumps.get(bridge) ?? {};
    this.dumps.set(bridge, entry);
    const twin = entry[kind];
    if (twin !== undefined)
      throw new InputError(`two ${bridge} ${kind} dumps given: ${twin.path} and ${arg.path}`, {
        hint: "name each dump's bridge with BRIDGE=FILE",
      });
    const converted = convertDump(kind, Buffer.from(bytes).toString("utf8"));
    if ("why" in converted) {
      this.problems.push(`${arg.path} is not a usable ${kind} dump (${converted.why}); skipped`);
      this.seen.push(`${arg.path}: unusable ${kind} dump`);
      return;
    }
    entry[kind] = { text: converted.text, path: arg.path };
    this.progress(`${arg.path}: ${bridge} ${kind}`);
  }
}

/**
 * The node the files describe: the bridges of the dumps and of conf.db. It needs a database or some
 * flows; its name is the one asked for, else conf.db's hostname, else "node".
 */
function nodeOfFiles(given: GivenFiles, asked: string | undefined): CollectedNode {
  const { dbs, dumps, missing, seen } = given;
  const conf = dbs.conf;
  const bridgeNames = [...new Set([...dumps.keys(), ...(conf === undefined ? [] : bridgeNamesOf(conf.db))])];
  const bridges = bridgeNames.sort().map((name) => {
    const d = dumps.get(name) ?? {};
    return collectedBridge(
      name,
      { flows: d.flows?.text, groups: d.groups?.text, tlvMap: d["tlv-map"]?.text },
      missing,
    );
  });
  if (conf === undefined && !missing.includes(DB_FILE.conf)) missing.push(DB_FILE.conf);
  const usable =
    conf !== undefined ||
    dbs.nb !== undefined ||
    dbs.sb !== undefined ||
    bridges.some((b) => b.flows !== undefined);
  if (!usable) {
    throw new InputError(
      `nothing usable for a snapshot in the files given:\n${seen.map((s) => `  ${s}`).join("\n")}`,
      { hint: FILES_HINT },
    );
  }
  const name = asked ?? (conf === undefined ? undefined : hostnameOf(conf.db)) ?? "node";
  const ovsVersion = conf === undefined ? undefined : ovsVersionOf(conf.db);
  return {
    origin: "files",
    name: isSafeName(name) ? name : "node",
    ...(conf === undefined ? {} : { confDb: conf }),
    ...(dbs.nb === undefined ? {} : { nb: dbs.nb }),
    ...(dbs.sb === undefined ? {} : { sb: dbs.sb }),
    bridges,
    runtime: {},
    missing,
    ...(ovsVersion === undefined || ovsVersion === "" ? {} : { ovsVersion }),
  };
}

function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${(e as Error).message}`, { hint: FILES_HINT });
  }
}
