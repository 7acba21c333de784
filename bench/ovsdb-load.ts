/**
 * How fast readOvsdbFile loads a big SB database, next to ovsdb-server starting on the same file.
 *
 *   npx tsx bench/ovsdb-load.ts [target MB, default 50]      (bench/run.ts runs it too, via measureOvsdbLoad)
 *
 * Builds a standalone OVN_Southbound file the way ovn-northd grows one: `ovsdb-tool create` writes the
 * schema record, then we append framed transactions (`OVSDB JSON <length> <sha1>`, `_is_diff`, `_date`,
 * `_comment`) that insert Datapath_Bindings and batches of Logical_Flows, bump SB_Global.nb_cfg, change
 * flows' external_ids (map diffs) and delete some. Then it measures (a) readFileSync + readOvsdbFile, and
 * (b) ovsdb-server from spawn until `ovsdb-client list-dbs` answers on its unix socket; it checks that both
 * see the same number of Logical_Flow rows. Everything lives in a /tmp directory that is deleted at the end;
 * the server is stopped by its pid. Needs ovsdb-tool, ovsdb-server and ovsdb-client (openvswitch-switch).
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readOvsdbFile } from "../src/ovsdb/file.js";

const SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema";
const FLOWS_PER_TXN = 250;
const DATAPATHS = 64;

type Json = Record<string, unknown>;

function record(txn: Json): Buffer {
  const body = Buffer.from(`${JSON.stringify(txn)}\n`);
  const sha1 = createHash("sha1").update(body).digest("hex");
  return Buffer.concat([Buffer.from(`OVSDB JSON ${body.length} ${sha1}\n`), body]);
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || String(r.error)}`);
  return r.stdout;
}

// --- a realistic SB log ----------------------------------------------------------------------

const STAGES: [string, number, string][] = [
  ["ingress", 0, "ls_in_check_port_sec"],
  ["ingress", 8, "ls_in_acl_hint"],
  ["ingress", 9, "ls_in_acl"],
  ["ingress", 13, "ls_in_lb"],
  ["ingress", 24, "ls_in_l2_lkup"],
  ["egress", 2, "ls_out_acl_hint"],
  ["egress", 4, "ls_out_acl"],
  ["egress", 9, "ls_out_check_port_sec"],
];

function flow(dp: string, n: number): Json {
  const [pipeline, tableId, stage] = STAGES[n % STAGES.length] ?? ["ingress", 0, "ls_in_check_port_sec"];
  const pod = `ns-${n % 97}_pod-${n}`;
  const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const mac = `0a:58:0a:${((n >> 16) & 255).toString(16).padStart(2, "0")}:${((n >> 8) & 255).toString(16).padStart(2, "0")}:${(n & 255).toString(16).padStart(2, "0")}`;
  return {
    logical_datapath: ["uuid", dp],
    pipeline,
    table_id: tableId,
    priority: 50 + (n % 2000),
    match: `inport == "${pod}" && eth.src == {${mac}} && ip4.src == {${ip}} && (tcp.dst == ${1024 + (n % 60000)} || udp)`,
    actions: n % 3 === 0 ? "next;" : `reg0[1] = 1; reg0[9] = 0; outport = "${pod}"; output;`,
    external_ids: [
      "map",
      [
        ["source", `northd.c:${5000 + (n % 900)}`],
        ["stage-hint", randomUUID().slice(0, 8)],
        ["stage-name", stage],
      ],
    ],
  };
}

function buildDatabase(file: string, targetMb: number): { flows: number; records: number } {
  run("ovsdb-tool", ["create", file, SB_SCHEMA]);
  const target = targetMb * 1024 * 1024;
  const sbGlobal = randomUUID();
  const datapaths = Array.from({ length: DATAPATHS }, () => randomUUID());
  const dpRows = Object.fromEntries(
    datapaths.map((uuid, i) => [uuid, { tunnel_key: i + 1, external_ids: ["map", [["name", `sw-${i}`]]] }]),
  );
  let date = Date.UTC(2026, 0, 1);
  let records = 1;
  const append = (txn: Json) => {
    appendFileSync(file, record({ ...txn, _date: (date += 7), _is_diff: true, _comment: "ovn-northd" }));
    records++;
  };
  append({ SB_Global: { [sbGlobal]: { nb_cfg: 0 } }, Datapath_Binding: dpRows });

  const live: string[] = [];
  let n = 0;
  let size = statSync(file).size;
  for (let txn = 1; size < target; txn++) {
    const inserts: Record<string, Json | null> = {};
    for (let i = 0; i < FLOWS_PER_TXN; i++, n++) {
      const uuid = randomUUID();
      inserts[uuid] = flow(datapaths[n % DATAPATHS] ?? "", n);
      live.push(uuid);
    }
    // northd also rewrites and drops flows: a map diff on a few, a delete of a few older ones
    for (let i = 0; i < 5 && live.length > 2 * FLOWS_PER_TXN; i++) {
      const victim = live.splice(Math.floor(Math.random() * (live.length - FLOWS_PER_TXN)), 1)[0] ?? "";
      inserts[victim] = i < 3 ? { external_ids: ["map", [["stage-hint", "changed"]]] } : null;
      if (i < 3) live.push(victim);
    }
    append({ SB_Global: { [sbGlobal]: { nb_cfg: txn } }, Logical_Flow: inserts });
    size = statSync(file).size;
  }
  return { flows: live.length, records };
}

// --- measurements ----------------------------------------------------------------------------

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function measureReader(file: string, runs: number): { ms: number[]; flows: number } {
  const ms: number[] = [];
  let flows = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const db = readOvsdbFile(new Uint8Array(readFileSync(file)));
    ms.push(performance.now() - t0);
    flows = Object.keys(db.tables.Logical_Flow ?? {}).length;
  }
  return { ms, flows };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function stop(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (!isRunning(child) || pid === undefined) return;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
  });
  if (!signal(pid, "SIGTERM")) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)));
  await Promise.race([exited, grace]);
  clearTimeout(timer); // a pending 10 s timer would keep the process alive after the benchmark
  if (isRunning(child)) signal(pid, "SIGKILL");
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** False when the process is already gone. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Spawns ovsdb-server on the file; ms until `ovsdb-client list-dbs` answers, and the server's flow count. */
async function measureServer(dir: string, file: string): Promise<{ ms: number; flows: number }> {
  const sock = join(dir, "sb.sock");
  const args = [
    "--no-chdir",
    `--remote=punix:${sock}`,
    `--unixctl=${join(dir, "sb.ctl")}`,
    `--log-file=${join(dir, "sb.log")}`,
    "-vconsole:off",
    file,
  ];
  const t0 = performance.now();
  const server = spawn("ovsdb-server", args, { stdio: "ignore" });
  try {
    for (;;) {
      const r = spawnSync("ovsdb-client", ["--timeout=5", "list-dbs", `unix:${sock}`], { encoding: "utf8" });
      if (r.status === 0 && r.stdout.includes("OVN_Southbound")) break;
      await sleep(2); // lets the child's exit event arrive
      if (!isRunning(server)) {
        throw new Error(
          `ovsdb-server exited (${server.exitCode}):\n${readFileSync(join(dir, "sb.log"), "utf8")}`,
        );
      }
      if (performance.now() - t0 > 120_000) throw new Error("ovsdb-server did not answer within 120 s");
    }
    const ms = performance.now() - t0;
    const select = JSON.stringify([
      "OVN_Southbound",
      { op: "select", table: "Logical_Flow", where: [], columns: ["_uuid"] },
    ]);
    const reply = JSON.parse(run("ovsdb-client", ["transact", `unix:${sock}`, select])) as [
      { rows: unknown[] },
    ];
    return { ms, flows: reply[0].rows.length };
  } finally {
    await stop(server);
  }
}

export interface OvsdbLoadResult {
  readonly mb: number;
  readonly records: number;
  /** Logical_Flow rows written; the reader and the server are checked to see the same number. */
  readonly flows: number;
  readonly buildMs: number;
  /** readFileSync + readOvsdbFile, one entry per run. */
  readonly readerMs: readonly number[];
  /** ovsdb-server from spawn until `ovsdb-client list-dbs` answers, one entry per run. */
  readonly serverMs: readonly number[];
}

/** Builds a ~targetMb SB file in a temporary directory, times both loaders `runs` times, deletes it all. */
export async function measureOvsdbLoad(targetMb: number, runs: number): Promise<OvsdbLoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "ovsdb-load-bench-"));
  try {
    const file = join(dir, "ovnsb_db.db");
    const t0 = performance.now();
    const built = buildDatabase(file, targetMb);
    const buildMs = performance.now() - t0;
    const mb = statSync(file).size / (1024 * 1024);
    const reader = measureReader(file, runs);
    const serverMs: number[] = [];
    let serverFlows = 0;
    for (let i = 0; i < runs; i++) {
      const r = await measureServer(dir, file);
      serverMs.push(r.ms);
      serverFlows = r.flows;
    }
    if (reader.flows !== built.flows || serverFlows !== built.flows) {
      throw new Error(
        `flow counts differ: built ${built.flows}, reader ${reader.flows}, server ${serverFlows}`,
      );
    }
    return { mb, records: built.records, flows: built.flows, buildMs, readerMs: reader.ms, serverMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runsText(ms: readonly number[]): string {
  return `median ${median(ms).toFixed(0)} ms of ${ms.map((x) => x.toFixed(0)).join("/")}`;
}

async function main(): Promise<void> {
  const r = await measureOvsdbLoad(Number(process.argv[2] ?? 50), 3);
  console.log(
    `built SB file: ${r.mb.toFixed(1)} MB, ${r.records} records, ${r.flows} Logical_Flow rows ` +
      `in ${(r.buildMs / 1000).toFixed(1)} s`,
  );
  const readerMs = median(r.readerMs);
  const serverMs = median(r.serverMs);
  console.log(
    `readOvsdbFile (incl. readFileSync): ${runsText(r.readerMs)} = ${(r.mb / (readerMs / 1000)).toFixed(1)} MB/s`,
  );
  console.log(
    `ovsdb-server until list-dbs answers: ${runsText(r.serverMs)} = ${(r.mb / (serverMs / 1000)).toFixed(1)} MB/s`,
  );
  console.log(
    `ratio readOvsdbFile / ovsdb-server: ${(readerMs / serverMs).toFixed(2)} (same ${r.flows} flows)`,
  );
}

// Also a module: bench/run.ts imports measureOvsdbLoad.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  await main();
