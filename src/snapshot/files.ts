/**
 * `snapshot collect --files`: a one-node snapshot from database files and OpenFlow dumps given by
 * hand. Each file's kind is read from its content (an OVSDB file's schema name; for text, the parser
 * registry's detection, then the appctl outputs it does not know); a dump's bridge comes from
 * `BRIDGE=FILE`, else the file name, else br-int.
 *
 * What the replica needs to load the flows is derived or refused here, never left to fail later: the
 * integration bridge's tlv-map is read from its flows' use of tun_metadata when not given (as
 * ovn-controller maps OVN's one Geneve option); flows that send packets to groups or meters that no dump
 * given defines, or use tunnel metadata no tlv-map maps, are refused with the dump to add.
 */

import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { InputError } from "../errors.js";
import { looksLikeTlvMap, parseTlvMap } from "../parsers/tlv-map.js";
import { detectKind } from "../parsers/registry.js";
import {
  firstRejected,
  flowsUseMeters,
  flowsUseNormal,
  groupIds,
  groupsUsed,
  isUsableDump,
  ovnTlvMapFromFlows,
  restorableFlows,
  restorableGroups,
  tunMetadataUse,
} from "./flow-dump.js";
import type { SnapshotManifest } from "./format.js";
import { meterSpecs } from "./replica.js";
import { assembleSnapshot, collectedBridge, isSafeName, type CollectedNode } from "./sos-assemble.js";
import {
  bridgeInterfacesOf,
  bridgeNamesOf,
  DB_FILE,
  hostnameOf,
  integrationBridgeOf,
  loadDbFile,
  ovsVersionOf,
  ROLE_OF_SCHEMA,
  TUNNEL_TYPES,
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
  "give OVSDB files (conf.db, ovnnb_db.db, ovnsb_db.db), ovs-ofctl dump-flows / dump-groups / " +
  "dump-tlv-map / dump-meters and ovs-appctl fdb/show outputs (name a dump's bridge with BRIDGE=FILE, " +
  "default br-int), and ovs-appctl ovs/route/show and tnl/neigh/show outputs";

/** Per bridge. */
type DumpKind = "flows" | "groups" | "tlv-map" | "meters" | "fdb";
/** Per node: the tunnel routing state (see format.ts). */
type RuntimeKind = "routes" | "neighbours";

const DUMP_KIND: Readonly<Record<string, DumpKind>> = {
  "dump-flows": "flows",
  "dump-groups": "groups",
  "tlv-map": "tlv-map",
};

/** The outputs the parser registry does not read, by their header lines. */
const OWN_KINDS: readonly { kind: DumpKind | RuntimeKind; re: RegExp }[] = [
  { kind: "meters", re: /^(?:OFPST_METER_CONFIG reply\b|meter=\d+ )/m },
  { kind: "fdb", re: /^\s*port\s+VLAN\s+MAC\s+Age\s*$/m },
  { kind: "routes", re: /^(?:Route Table:\s*$|(?:Cached|User): \S+\/\d+ dev \S+)/m },
  { kind: "neighbours", re: /^IP\s+MAC\s+Bridge\s*$/m },
];

/** What to run on the node for each part, for the messages. */
const DUMP_COMMAND: Readonly<Record<DumpKind | RuntimeKind, (bridge: string) => string>> = {
  flows: (b) => `ovs-ofctl -O OpenFlow15 --no-stats dump-flows ${b}`,
  groups: (b) => `ovs-ofctl -O OpenFlow15 dump-groups ${b}`,
  "tlv-map": (b) => `ovs-ofctl dump-tlv-map ${b}`,
  meters: (b) => `ovs-ofctl -O OpenFlow15 dump-meters ${b}`,
  fdb: (b) => `ovs-appctl fdb/show ${b}`,
  routes: () => "ovs-appctl ovs/route/show",
  neighbours: () => "ovs-appctl tnl/neigh/show",
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
  const own =
    /^(.+)\.(?:flows|groups|tlv-map|tlvmap|meters|fdb|dump-flows|dump-groups|dump-tlv-map|dump-meters)(?:\.txt)?$/.exec(
      name,
    )?.[1];
  const bridge = sos ?? own;
  return bridge !== undefined && isSafeName(bridge) ? bridge : undefined;
}

type BridgeDumps = Partial<Record<DumpKind, { text: string; path: string }>>;

/** A dump converted to what the snapshot stores, or why it cannot be. */
function convertDump(kind: DumpKind, text: string): { text: string } | { why: string } {
  switch (kind) {
    case "tlv-map":
      return looksLikeTlvMap(text) ? { text } : { why: "not a tlv-map" };
    case "meters":
      return text.includes("meter=") || /METER_CONFIG reply/.test(text) ? { text } : { why: "no meter" };
    case "fdb":
      return { text };
    case "flows":
    case "groups": {
      const d = kind === "flows" ? restorableFlows(text) : restorableGroups(text);
      if (!isUsableDump(d)) return { why: firstRejected(d) };
      return { text: d.text };
    }
  }
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
    asm.add(nodeOfFiles(given, opts.node, asm.problems));
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
  readonly runtime: Partial<Record<RuntimeKind, { text: string; path: string }>> = {};
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
    const text = Buffer.from(bytes).toString("utf8");
    const own = kind === undefined ? OWN_KINDS.find((k) => k.re.test(text))?.kind : undefined;
    if (own === "routes" || own === "neighbours") {
      this.addRuntime(arg, own, text);
      return;
    }
    const dumpKind = own ?? (kind === undefined ? undefined : DUMP_KIND[kind]);
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

  /** One routes and one neighbours output (they are the node's, not a bridge's). */
  private addRuntime(arg: FileArg, kind: RuntimeKind, text: string): void {
    if (arg.bridge !== undefined)
      this.problems.push(`${arg.path} is the node's ${kind}, not a bridge's: bridge ${arg.bridge} ignored`);
    const twin = this.runtime[kind];
    if (twin !== undefined)
      throw new InputError(`two ${kind} outputs given: ${twin.path} and ${arg.path}`, { hint: FILES_HINT });
    this.runtime[kind] = { text, path: arg.path };
    this.progress(`${arg.path}: ${kind}`);
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
 * flows; its name is the one asked for, else conf.db's hostname, else "node". Flows the replica could not
 * load with what was given are refused (see checkLoadable).
 */
function nodeOfFiles(given: GivenFiles, asked: string | undefined, problems: string[]): CollectedNode {
  const { dbs, dumps, missing, seen, runtime } = given;
  const conf = dbs.conf;
  const integration = integrationBridgeOf(conf?.db);
  const bridgeNames = [...new Set([...dumps.keys(), ...(conf === undefined ? [] : bridgeNamesOf(conf.db))])];
  const bridges = bridgeNames.sort().map((name) => {
    const d = dumps.get(name) ?? {};
    checkLoadable(name, d, name === integration);
    const notes: string[] = [];
    const b = collectedBridge(
      name,
      {
        flows: d.flows?.text,
        groups: d.groups?.text,
        tlvMap: d["tlv-map"]?.text,
        meters: d.meters?.text,
        fdb: d.fdb?.text,
      },
      missing,
      name === integration ? { notes } : undefined,
    );
    problems.push(...notes.map((n) => `${d.flows?.path ?? name}: ${n}`));
    if (b.flows !== undefined && b.fdb === undefined && flowsUseNormal(b.flows)) missing.push(`${name} fdb`);
    return b;
  });
  if (conf === undefined && !missing.includes(DB_FILE.conf)) missing.push(DB_FILE.conf);
  // tunnels are routed with the node's routes and neighbours, which no database holds
  if (conf === undefined || bridgeInterfacesOf(conf.db).some((i) => TUNNEL_TYPES.has(i.type))) {
    if (runtime.routes === undefined) missing.push("ovs/route/show");
    if (runtime.neighbours === undefined) missing.push("tnl/neigh/show");
  }
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
    runtime: {
      ...(runtime.routes === undefined ? {} : { routes: runtime.routes.text }),
      ...(runtime.neighbours === undefined ? {} : { tunnelNeighbors: runtime.neighbours.text }),
    },
    missing,
    ...(ovsVersion === undefined || ovsVersion === "" ? {} : { ovsVersion }),
  };
}

/** The one-line refusal for flows the replica cannot load without a dump that was not given. */
function refuse(bridge: string, flows: string, what: string, kind: DumpKind): never {
  throw new InputError(
    `${bridge} flows (${flows}) ${what}: add ${bridge}=FILE with the output of \`${DUMP_COMMAND[kind](bridge)}\` on that node`,
  );
}

/**
 * Refuses flows that OVS would not install from what was given (the whole `replace-flows --bundle` fails
 * on one such flow): groups, meters or tunnel metadata fields they use and no dump defines. On the
 * integration bridge a tlv-map that can be read from the flows (ovnTlvMapFromFlows) is not required.
 */
function checkLoadable(bridge: string, d: BridgeDumps, integration: boolean): void {
  const flows = d.flows;
  if (flows === undefined) return;
  const used = groupsUsed(flows.text);
  if (used.length > 0) {
    const defined = new Set(d.groups === undefined ? [] : groupIds(d.groups.text));
    const absent = used.filter((g) => !defined.has(g));
    if (absent.length > 0)
      refuse(
        bridge,
        flows.path,
        d.groups === undefined
          ? `send packets to groups ${list(used)} and no ${bridge} groups dump was given`
          : `send packets to groups ${list(absent)} that ${d.groups.path} does not define`,
        "groups",
      );
  }
  if (flowsUseMeters(flows.text)) {
    const specs = d.meters === undefined ? [] : meterSpecs(d.meters.text);
    if (specs.length === 0)
      refuse(bridge, flows.path, `send packets to meters and no ${bridge} meters dump was given`, "meters");
  }
  const fields = [...tunMetadataUse(flows.text).keys()].map((i) => `tun_metadata${String(i)}`);
  if (fields.length === 0) return;
  const map = d["tlv-map"];
  if (map !== undefined) {
    const mapped = new Set(parseTlvMap(map.text).mappings.map((m) => m.field));
    const unmapped = fields.filter((f) => !mapped.has(f));
    if (unmapped.length > 0)
      refuse(bridge, flows.path, `use ${unmapped.join(", ")}, which ${map.path} does not map`, "tlv-map");
    return;
  }
  const derived = integration ? ovnTlvMapFromFlows(flows.text) : undefined;
  if (derived === undefined || (typeof derived === "object" && "why" in derived))
    refuse(
      bridge,
      flows.path,
      `use ${fields.join(", ")} and no ${bridge} tlv-map was given` +
        (derived === undefined
          ? ` (${bridge} is not OVN's integration bridge: its map cannot be read from the flows)`
          : ` (it cannot be read from the flows: ${derived.why})`),
      "tlv-map",
    );
}

/** `1, 2, 3` (at most 8, then "…"). */
function list(ids: readonly number[]): string {
  return ids.length > 8 ? `${ids.slice(0, 8).join(", ")}, …` : ids.join(", ");
}

function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${(e as Error).message}`, { hint: FILES_HINT });
  }
}
