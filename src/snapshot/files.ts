/**
 * `snapshot collect --files`: a one-node snapshot from database files and OpenFlow dumps given by
 * hand. Each file's kind is read from its content (an OVSDB file's schema name; for text, the parser
 * registry's detection); a dump's bridge comes from `BRIDGE=FILE`, else the file name, else br-int.
 */

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { InputError } from "../errors.js";
import { looksLikeTlvMap } from "../parsers/tlv-map.js";
import { detectKind } from "../parsers/registry.js";
import { flowsUseMeters, isUsableDump, restorableFlows, restorableGroups } from "./flow-dump.js";
import type { SnapshotManifest } from "./format.js";
import { isSafeName, SnapshotAssembler, withNewSnapshot, type CollectedBridge } from "./sos-assemble.js";
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
  if (!isUsableDump(d))
    return { why: d.rejected[0] === undefined ? "empty" : JSON.stringify(d.rejected[0].slice(0, 120)) };
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
  const scratch = mkdtempSync(join(tmpdir(), "ovnkube-trace-files-"));
  try {
    return await withNewSnapshot(out, async (writer) => {
      const asm = new SnapshotAssembler(writer);
      const dbs: Partial<Record<DbRole, LoadedDb>> = {};
      const dumps = new Map<string, BridgeDumps>();
      const missing: string[] = [];
      const seen: string[] = [];
      for (const arg of args) {
        const bytes = readInput(arg.path);
        const kind = detectKind(bytes);
        if (kind === "ovsdb-database") {
          if (arg.bridge !== undefined)
            asm.problems.push(`${arg.path} is a database: bridge ${arg.bridge} ignored`);
          const load = await loadDbFile(bytes, arg.path, scratch);
          if (!load.ok) {
            asm.problems.push(`${load.reason}; skipped`);
            const role = load.schemaName === undefined ? undefined : ROLE_OF_SCHEMA[load.schemaName];
            if (role !== undefined) missing.push(DB_FILE[role]);
            seen.push(`${arg.path}: damaged database`);
            continue;
          }
          const { db } = load.loaded;
          const role = ROLE_OF_SCHEMA[db.name];
          if (role === undefined) {
            asm.problems.push(`${arg.path} is a ${db.name} database, not one a snapshot holds; ignored`);
            seen.push(`${arg.path}: ${db.name} database`);
            continue;
          }
          const twin = dbs[role];
          if (twin !== undefined)
            throw new InputError(`two ${db.name} databases given: ${twin.origin} and ${arg.path}`, {
              hint: "a --files snapshot is one node: give one conf.db, one NB and one SB",
            });
          dbs[role] = load.loaded;
          asm.problems.push(...load.loaded.notes);
          progress(`${arg.path}: ${db.name} database`);
          continue;
        }
        const dumpKind = kind === undefined ? undefined : DUMP_KIND[kind];
        if (dumpKind === undefined) {
          asm.problems.push(
            `${arg.path} is not a database or a flow, group or tlv-map dump (${kind ?? "not recognised"}); ignored`,
          );
          seen.push(`${arg.path}: ${kind ?? "not recognised"}`);
          continue;
        }
        const bridge = arg.bridge ?? bridgeFromFileName(arg.path) ?? DEFAULT_BRIDGE;
        const entry = dumps.get(bridge) ?? {};
        dumps.set(bridge, entry);
        const twin = entry[dumpKind];
        if (twin !== undefined)
          throw new InputError(`two ${bridge} ${dumpKind} dumps given: ${twin.path} and ${arg.path}`, {
            hint: "name each dump's bridge with BRIDGE=FILE",
          });
        const converted = convertDump(dumpKind, Buffer.from(bytes).toString("utf8"));
        if ("why" in converted) {
          asm.problems.push(`${arg.path} is not a usable ${dumpKind} dump (${converted.why}); skipped`);
          seen.push(`${arg.path}: unusable ${dumpKind} dump`);
          continue;
        }
        entry[dumpKind] = { text: converted.text, path: arg.path };
        progress(`${arg.path}: ${bridge} ${dumpKind}`);
      }

      const conf = dbs.conf;
      const bridgeNames = [
        ...new Set([...dumps.keys(), ...(conf === undefined ? [] : bridgeNamesOf(conf.db))]),
      ];
      const bridges: CollectedBridge[] = bridgeNames.sort().map((name) => {
        const d = dumps.get(name) ?? {};
        for (const k of ["flows", "groups", "tlv-map"] as const)
          if (d[k] === undefined) missing.push(`${name} ${k}`);
        if (d.flows !== undefined && flowsUseMeters(d.flows.text)) missing.push(`${name} meters`);
        return {
          name,
          ...(d.flows === undefined ? {} : { flows: d.flows.text }),
          ...(d.groups === undefined ? {} : { groups: d.groups.text }),
          ...(d["tlv-map"] === undefined ? {} : { tlvMap: d["tlv-map"].text }),
        };
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
      const name = opts.node ?? (conf === undefined ? undefined : hostnameOf(conf.db)) ?? "node";
      const ovsVersion = conf === undefined ? undefined : ovsVersionOf(conf.db);
      asm.add({
        origin: "files",
        name: isSafeName(name) ? name : "node",
        ...(conf === undefined ? {} : { confDb: conf }),
        ...(dbs.nb === undefined ? {} : { nb: dbs.nb }),
        ...(dbs.sb === undefined ? {} : { sb: dbs.sb }),
        bridges,
        runtime: {},
        missing,
        ...(ovsVersion === undefined || ovsVersion === "" ? {} : { ovsVersion }),
      });
      return asm.finish({
        kind: "files",
        description: `files: ${args.map((a) => basename(a.path)).join(", ")}`,
      });
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${(e as Error).message}`, { hint: FILES_HINT });
  }
}
