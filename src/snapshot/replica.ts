import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { InputError, OvnkTraceError, ProcessError } from "../errors.js";
import {
  dirEnv,
  isInside,
  isOurs,
  startDaemon,
  stopAllUnder,
  stopDaemon,
  type DaemonRecord,
  type OvnDbs,
} from "../ovs/daemon.js";
import { onInterrupt } from "../ovs/interrupt.js";
import {
  AUTO_MIN_SB_BYTES,
  RESIDENT_CT_STATES,
  sbFileBytes,
  startResidentOvnTrace,
  type DaemonPolicy,
  type ResidentOvnTrace,
} from "../ovs/ovn-trace-daemons.js";
import { run } from "../ovs/exec.js";
import type { TunnelNeighbour } from "../ovs/tunnel-neighbours.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { numberColumn, rowByUuid, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { parseTlvMap } from "../parsers/tlv-map.js";
import { snapshotPaths, type SnapshotBridge, type SnapshotNode } from "./format.js";
import { readSnapshot, type Snapshot } from "./read.js";
import { describeFailure } from "../cluster/backend.js";

/** Every replica lives under this root, in a directory named after the snapshot's path. */
export const REPLICA_ROOT = "/tmp/ovnkube-trace-replica";

export interface ReplicaDaemon extends DaemonRecord {
  readonly owner: string;
}

/** A part of a node's state the replica restores, which a step can fail to put in. */
export type ReplicaPart =
  "conf.db" | "settings" | "tlv-map" | "meters" | "groups" | "flows" | "fdb" | "routes" | "neighbours";

/** One step of building a node's replica that failed: what did not get into the replica, and why. */
export interface ReplicaFailure {
  readonly part: ReplicaPart;
  /** The bridge the step was for (tlv-map, meters, groups, flows, fdb). */
  readonly bridge?: string;
  /** The OpenFlow error codes the step printed (NXFMFC_INVALID_TLV_FIELD, OFPBAC_BAD_OUT_GROUP...). */
  readonly codes: readonly string[];
  /** The command and its error, or why OVS did not start, as the user should read it. */
  readonly detail: string;
}

export interface ReplicaNode {
  readonly name: string;
  readonly zone: string;
  readonly dir: string;
  /** ovs-vswitchd runs with the node's flows: ofproto/trace works on it. */
  readonly ovs: boolean;
  readonly problems: readonly string[];
  /**
   * The steps that failed, as data (`problems` says the same as text). A failed `replace-flows --bundle`
   * is one failure of part "flows": the bundle is atomic, none of the bridge's flows were loaded. Absent
   * in the state of a replica started by an older version.
   */
  readonly failed?: readonly ReplicaFailure[];
}

export interface ReplicaZone {
  readonly name: string;
  readonly dbs: OvnDbs;
  readonly problems: readonly string[];
  /** ovn-trace daemons that loaded this zone's SB once for every run while the replica is up. */
  readonly ovnTraces?: readonly ResidentOvnTrace[];
}

/** What a replica starts besides the databases and switches. */
export interface ReplicaOptions {
  /**
   * Resident ovn-trace daemons (first packets and replies) per zone: `auto` for zones whose SB is big enough for
   * them to pay off (see DaemonPolicy), `always`, or `never` (the default: a replica started for one run).
   */
  readonly residentOvnTrace?: DaemonPolicy;
}

/** `<replica>/replica.json`: what any later process needs to use and stop the replica. */
export interface ReplicaState {
  readonly version: 1;
  readonly snapshot: string;
  /** SHA-256 of the manifest the replica was built from: a snapshot replaced in place is rebuilt. */
  readonly manifestSha256: string;
  readonly dir: string;
  phase: "starting" | "up";
  readonly daemons: ReplicaDaemon[];
  readonly zones: ReplicaZone[];
  readonly nodes: ReplicaNode[];
  readonly startMs?: number;
}

export function replicaDir(snapshot: string): string {
  const id = createHash("sha1").update(resolve(snapshot)).digest("hex").slice(0, 12);
  return join(REPLICA_ROOT, id);
}

const errorText = (e: unknown): string =>
  e instanceof OvnkTraceError
    ? [e.message, typeof e.cause === "string" ? e.cause : ""].join(" ").trim()
    : String(e);

const stateFile = (dir: string): string => join(dir, "replica.json");

export function readReplica(snapshot: string): ReplicaState | undefined {
  const f = stateFile(replicaDir(snapshot));
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as ReplicaState;
}

export function manifestSha256(snapshot: string): string {
  return createHash("sha256")
    .update(readFileSync(join(snapshot, snapshotPaths.manifest)))
    .digest("hex");
}

/** True if the replica of `snapshot` runs with all its daemons, built from the snapshot as it is now. */
export function replicaRunning(s: ReplicaState): boolean {
  if (s.phase !== "up" || !s.daemons.every(isOurs)) return false;
  try {
    return manifestSha256(s.snapshot) === s.manifestSha256;
  } catch {
    return false;
  }
}

/** The environment in which ovs-*, ovn-* commands act on one node of the replica. */
export function replicaNodeEnv(s: ReplicaState, node: string): NodeJS.ProcessEnv {
  const n = s.nodes.find((x) => x.name === node);
  if (n === undefined) throw new InputError(`the snapshot has no node "${node}"`);
  return dirEnv(n.dir, s.zones.find((z) => z.name === n.zone)?.dbs ?? {});
}

/** What went wrong while building one node of the replica, as text and as data. */
class NodeLog {
  readonly problems: string[] = [];
  readonly failed: ReplicaFailure[] = [];

  fail(
    part: ReplicaPart,
    bridge: string | undefined,
    what: string,
    detail: string,
    codes: string[] = [],
  ): void {
    this.problems.push(`${what}: ${detail}`);
    this.failed.push({ part, ...(bridge === undefined ? {} : { bridge }), codes, detail });
  }
}

/** The OpenFlow error codes an ovs-ofctl run printed (`Error NXFMFC_INVALID_TLV_FIELD for: ...`), each once. */
export function openflowErrorCodes(stderr: string): string[] {
  return [...new Set([...stderr.matchAll(/\bError ([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] ?? ""))].filter(
    (c) => c !== "",
  );
}

async function step(
  argv: readonly string[],
  dir: string,
  log: NodeLog,
  what: string,
  part: ReplicaPart,
  bridge?: string,
): Promise<boolean> {
  const r = await run(argv, { env: dirEnv(dir), timeoutMs: 60_000 });
  if (r.exitCode !== 0) log.fail(part, bridge, what, describeFailure(r), openflowErrorCodes(r.stderr));
  return r.exitCode === 0;
}

/**
 * ovsdb-tool-free surgery on a restored conf.db: everything that would make the replica reach the
 * live cluster (streams to the fabric, managers, controllers, SSL, ovn-remote) or write outside
 * the replica (pcap files), removed in one transaction before ovs-vswitchd reads it.
 */
function stripLiveOnly(db: OvsdbDatabase): string[] {
  const b: string[] = ["--no-wait", "--timeout=20"];
  for (const i of tableRows(db, "Interface")) {
    const name = stringColumn(i, "name");
    if (name === undefined) continue;
    b.push("--", "remove", "interface", name, "options", "stream", "pstream", "tx_pcap", "rxq_pcap", "pcap");
  }
  for (const br of tableRows(db, "Bridge")) {
    const name = stringColumn(br, "name");
    if (name === undefined) continue;
    b.push("--", "del-controller", name, "--", "clear", "bridge", name, "netflow", "sflow", "ipfix");
  }
  b.push("--", "del-manager", "--", "del-ssl");
  const ovs = tableRows(db, "Open_vSwitch")[0];
  if (ovs !== undefined) {
    b.push("--", "remove", "open_vswitch", ".", "external_ids", "ovn-remote");
    b.push("--", "remove", "open_vswitch", ".", "other_config", "dpdk-init", "hw-offload");
    if (setColumn(ovs, "manager_options").length > 0)
      b.push("--", "clear", "open_vswitch", ".", "manager_options");
  }
  return ["ovs-vsctl", ...b];
}

/** `{class=..,type=..,len=..}->tun_metadataN,...` from a dump-tlv-map output, or undefined if empty. */
function tlvMapArg(text: string): string | undefined {
  const m = parseTlvMap(text).mappings;
  if (m.length === 0) return undefined;
  return m.map((x) => `{class=${x.class},type=${x.type},len=${String(x.length)}}->${x.field}`).join(",");
}

const FDB_RE = /^(LOCAL|\d+)\s+(\d+)\s+([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i;

/** ofport → interface name, per bridge (ofport numbers are per bridge). */
function ofportNames(confDb: OvsdbDatabase, bridge: string): Map<string, string> {
  const names = new Map<string, string>([["LOCAL", bridge]]);
  const br = tableRows(confDb, "Bridge").find((r) => stringColumn(r, "name") === bridge);
  if (br === undefined) return names;
  for (const portRef of setColumn(br, "ports")) {
    const port = rowByUuid(confDb, "Port", String(portRef));
    for (const ifRef of port === undefined ? [] : setColumn(port, "interfaces")) {
      const i = rowByUuid(confDb, "Interface", String(ifRef));
      const name = i === undefined ? undefined : stringColumn(i, "name");
      const ofport = i === undefined ? undefined : numberColumn(i, "ofport");
      if (name !== undefined && ofport !== undefined) names.set(String(ofport), name);
    }
  }
  return names;
}

/** The MAC learning table, as static entries (NORMAL would flood without it). */
async function restoreFdb(
  snap: Snapshot,
  b: SnapshotBridge,
  confDb: OvsdbDatabase,
  dir: string,
  log: NodeLog,
) {
  if (b.fdb === undefined) return;
  const names = ofportNames(confDb, b.name);
  for (const line of snap.text(b.fdb).split("\n")) {
    const m = FDB_RE.exec(line.trim());
    const port = m === null ? undefined : names.get(m[1] ?? "");
    if (m === null || port === undefined) continue;
    await step(
      ["ovs-appctl", "fdb/add", b.name, port, m[2] ?? "0", m[3] ?? ""],
      dir,
      log,
      `${b.name} fdb`,
      "fdb",
      b.name,
    );
  }
}

/** `meter=N flags bands=` followed by one `type=...` line per band → one add-meter argument per meter. */
export function meterSpecs(dump: string): string[] {
  const specs: string[] = [];
  for (const line of dump.split("\n").map((l) => l.trim())) {
    if (line.startsWith("meter=")) specs.push(line);
    else if (line.startsWith("type=") && specs.length > 0) {
      const last = specs.pop() ?? "";
      specs.push(last.endsWith("=") ? `${last}${line}` : `${last} ${line}`);
    }
  }
  return specs;
}

async function restoreBridge(snap: Snapshot, b: SnapshotBridge, dir: string, log: NodeLog): Promise<void> {
  const tlv = b.tlvMap === undefined ? undefined : tlvMapArg(snap.text(b.tlvMap));
  if (tlv !== undefined)
    await step(["ovs-ofctl", "add-tlv-map", b.name, tlv], dir, log, `${b.name} tlv-map`, "tlv-map", b.name);
  // flows that use a meter are refused when it does not exist: meters go first
  for (const spec of b.meters === undefined ? [] : meterSpecs(snap.text(b.meters)))
    await step(
      ["ovs-ofctl", "-O", "OpenFlow15", "add-meter", b.name, spec],
      dir,
      log,
      `${b.name} meter`,
      "meters",
      b.name,
    );
  if (b.groups !== undefined && snap.text(b.groups).trim() !== "") {
    await step(
      ["ovs-ofctl", "-O", "OpenFlow15", "add-groups", b.name, snap.path(b.groups)],
      dir,
      log,
      `${b.name} groups`,
      "groups",
      b.name,
    );
  }
  if (b.flows !== undefined) {
    await step(
      ["ovs-ofctl", "-O", "OpenFlow15", "--bundle", "replace-flows", b.name, snap.path(b.flows)],
      dir,
      log,
      `${b.name} flows`,
      "flows",
      b.name,
    );
  }
}

const ROUTE_RE = /^(?:Cached|User): (\S+)\/(\d+) dev (\S+)(?: GW (\S+))? SRC (\S+)( local)?/;
const NEIGH_RE = /^(\S+)\s+([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s+(\S+)\s*$/i;

/** The node's tunnel neighbours its snapshot recorded (`tnl/neigh/show`), on its bridges. */
export function recordedTunnelNeighbours(snap: Snapshot, n: SnapshotNode): TunnelNeighbour[] {
  const bridges = new Set(n.bridges.map((b) => b.name));
  const file = n.runtime.tunnelNeighbors === undefined ? undefined : snap.usable(n.runtime.tunnelNeighbors);
  return (file === undefined ? "" : snap.text(file)).split("\n").flatMap((line) => {
    const [, ip, mac, bridge] = NEIGH_RE.exec(line.trim()) ?? [];
    return ip === undefined || mac === undefined || bridge === undefined || !bridges.has(bridge)
      ? []
      : [{ bridge, ip, mac }];
  });
}

/** The tunnel routing state that only lived in ovs-vswitchd: dummy addresses, routes, neighbours. */
async function restoreRuntime(snap: Snapshot, n: SnapshotNode, dir: string, log: NodeLog) {
  const ports = new Set(n.bridges.map((b) => b.name));
  const addressed = new Set<string>();
  const addrs: string[][] = [];
  const cmds: string[][] = [];
  const neighbours: string[][] = [];
  for (const line of n.runtime.routes === undefined ? [] : snap.text(n.runtime.routes).split("\n")) {
    const m = ROUTE_RE.exec(line.trim());
    if (m === null) continue;
    const [, dst = "", plen = "", dev = "", gw, src = "", local] = m;
    if (!ports.has(dev) || local !== undefined) continue;
    const v6 = dst.includes(":");
    if (gw === undefined && !addressed.has(`${dev}/${v6 ? 6 : 4}`)) {
      addressed.add(`${dev}/${v6 ? 6 : 4}`);
      addrs.push(["ovs-appctl", v6 ? "netdev-dummy/ip6addr" : "netdev-dummy/ip4addr", dev, `${src}/${plen}`]);
    }
    cmds.push(["ovs-appctl", "ovs/route/add", `${dst}/${plen}`, dev, ...(gw === undefined ? [] : [gw])]);
  }
  for (const t of recordedTunnelNeighbours(snap, n))
    neighbours.push(["ovs-appctl", "tnl/neigh/set", t.bridge, t.ip, t.mac]);
  for (const c of [...addrs, ...cmds]) await step(c, dir, log, c.slice(1).join(" "), "routes");
  for (const c of neighbours) await step(c, dir, log, c.slice(1).join(" "), "neighbours");
}

async function startNode(
  snap: Snapshot,
  n: SnapshotNode,
  dir: string,
  state: ReplicaState,
  save: () => void,
): Promise<ReplicaNode> {
  const log = new NodeLog();
  const base = { name: n.name, zone: n.zone, dir };
  const result = (ovs: boolean): ReplicaNode => ({
    ...base,
    ovs,
    problems: log.problems,
    failed: log.failed,
  });
  mkdirSync(dir, { recursive: true });
  const conf = n.confDb === undefined ? undefined : snap.usable(n.confDb);
  if (conf === undefined) {
    log.fail("conf.db", undefined, "no usable conf.db", "OVS commands cannot run on this node");
    return result(false);
  }
  copyFileSync(snap.path(conf), join(dir, "conf.db"));
  const started = async (program: string, args: string[]): Promise<void> => {
    const d = await startDaemon(program, args, dir);
    state.daemons.push({ ...d, owner: n.name });
    save();
  };
  let confDb: OvsdbDatabase;
  try {
    confDb = readOvsdbFile(snap.bytes(conf));
    await started("ovsdb-server", [`--remote=punix:${join(dir, "db.sock")}`, join(dir, "conf.db")]);
    await step(stripLiveOnly(confDb), dir, log, "strip live-only settings", "settings");
    // system: the system datapath and system/internal netdevs become userspace dummies (nothing
    // touches the host), while tunnel ports keep their real types (override would make them dummies
    // too, and ofproto/trace would no longer encapsulate).
    await started("ovs-vswitchd", ["--enable-dummy=system", "-vvconn:off", "-vnetdev_dummy:off"]);
  } catch (e) {
    log.fail("conf.db", undefined, "OVS does not start on this node's conf.db", errorText(e));
    return result(false);
  }
  for (const b of n.bridges) {
    await restoreBridge(snap, b, dir, log);
    await restoreFdb(snap, b, confDb, dir, log);
  }
  await restoreRuntime(snap, n, dir, log);
  return result(true);
}

/**
 * Starts the local replica of a snapshot: an ovsdb-server per zone database, and per node an
 * ovsdb-server on its conf.db (stripped of live-only settings) and a dummy-datapath ovs-vswitchd
 * with its tlv-maps, groups, flows and tunnel routes restored. No ovn-controller runs: the flows
 * stay exactly as collected. Idempotent: a running replica is returned as is. `opened`: the snapshot
 * already read (and checksummed) by the caller.
 */
export async function startReplica(
  snapshot: string,
  opened?: Snapshot,
  options: ReplicaOptions = {},
): Promise<ReplicaState> {
  const existing = readReplica(snapshot);
  if (existing !== undefined && replicaRunning(existing)) return existing;
  if (existing !== undefined) await stopReplica(snapshot);
  const snap = opened ?? readSnapshot(snapshot);
  const t0 = performance.now();
  const dir = replicaDir(snapshot);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const state: ReplicaState = {
    version: 1,
    snapshot: resolve(snapshot),
    manifestSha256: manifestSha256(snapshot),
    dir,
    phase: "starting",
    daemons: [],
    zones: [],
    nodes: [],
  };
  const save = (): void => {
    writeFileSync(stateFile(dir), JSON.stringify(state, null, 2));
  };
  save();
  const interrupt = onInterrupt(() => stopReplica(snapshot));
  try {
    const zones = await Promise.all(
      snap.manifest.zones.map(async (z, i): Promise<ReplicaZone> => {
        const dbs: { nb?: string; sb?: string } = {};
        const problems: string[] = [];
        for (const [part, file] of [
          ["nb", z.nb],
          ["sb", z.sb],
        ] as const) {
          const usable = file === undefined ? undefined : snap.usable(file);
          if (usable === undefined) {
            problems.push(`no usable ${part.toUpperCase()} database`);
            continue;
          }
          const d = join(dir, `z${String(i)}`, part);
          mkdirSync(d, { recursive: true });
          copyFileSync(snap.path(usable), join(d, `${part}.db`));
          const sock = join(d, `${part}.sock`);
          try {
            const daemon = await startDaemon(
              "ovsdb-server",
              [`--remote=punix:${sock}`, join(d, `${part}.db`)],
              d,
              {},
              undefined,
              // it reads the whole file before it answers: a 100 MB SB takes seconds, more on a busy machine
              20_000 + statSync(join(d, `${part}.db`)).size / 1000,
            );
            state.daemons.push({ ...daemon, owner: `zone ${z.name}` });
            save();
            dbs[part] = `unix:${sock}`;
          } catch (e) {
            problems.push(`the ${part.toUpperCase()} database does not load: ${errorText(e)}`);
          }
        }
        const ovnTraces = await residentOvnTraces(dbs.sb, join(dir, `z${String(i)}`), options, (d) => {
          state.daemons.push({ ...d, owner: `zone ${z.name}` });
          save();
        }).catch((e: unknown) => {
          problems.push(`no resident ovn-trace (each run loads the SB itself): ${errorText(e)}`);
          return [];
        });
        return { name: z.name, dbs, problems, ...(ovnTraces.length === 0 ? {} : { ovnTraces }) };
      }),
    );
    state.zones.push(...zones);
    const nodes = await Promise.all(
      snap.manifest.nodes.map((n, i) => startNode(snap, n, join(dir, `n${String(i)}`), state, save)),
    );
    state.nodes.push(...nodes);
    state.phase = "up";
    Object.assign(state, { startMs: Math.round(performance.now() - t0) });
    save();
    return state;
  } catch (e) {
    await stopReplica(snapshot);
    throw e instanceof ProcessError
      ? e
      : new ProcessError(`could not start the replica of ${snapshot}`, { cause: e });
  } finally {
    interrupt.done();
  }
}

/** The resident ovn-trace daemons of a zone (first packets, replies), started in parallel, each recorded. */
async function residentOvnTraces(
  sb: string | undefined,
  zoneDir: string,
  options: ReplicaOptions,
  record: (d: DaemonRecord) => void,
): Promise<ResidentOvnTrace[]> {
  const policy = options.residentOvnTrace ?? "never";
  if (sb === undefined || policy === "never") return [];
  if (policy === "auto" && sbFileBytes(sb) < AUTO_MIN_SB_BYTES) return [];
  return Promise.all(
    RESIDENT_CT_STATES.map(async (ct, i) => {
      const started = await startResidentOvnTrace(join(zoneDir, `ovn-trace-${String(i)}`), sb, ct);
      record(started.record);
      return started.resident;
    }),
  );
}

/** Stops the replica of `snapshot` (by pid) and removes its directory. Returns how many daemons it stopped. */
export async function stopReplica(snapshot: string): Promise<number> {
  let s: ReplicaState | undefined;
  try {
    s = readReplica(snapshot);
  } catch {
    s = undefined; // cut short by an interrupted start: the pidfiles still say what runs
  }
  const dir = replicaDir(snapshot);
  let n = 0;
  // the databases' clients first: vswitchds hold their ovsdb-server's socket, an ovn-trace exits when its SB does
  const rank = (program: string): number =>
    program === "ovs-vswitchd" ? 0 : program === "ovn-trace" ? 1 : 2;
  const order = [...(s?.daemons ?? [])]
    .filter((d) => isInside(d.dir, dir))
    .sort((a, b) => rank(a.program) - rank(b.program));
  for (const d of order) if (await stopDaemon(d)) n++;
  // and any it started without recording them yet (an interrupted start)
  n += await stopAllUnder(dir);
  rmSync(dir, { recursive: true, force: true });
  return n;
}
