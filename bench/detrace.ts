/**
 * Our native detrace against the Python ovn-detrace, on the same ofproto/trace text and the same databases.
 *
 *   npx tsx bench/detrace.ts [SB target MB, default 50] [trace lines, default 5000]
 *
 * Brings up the lab (kind-dualstack, central: one NB/SB for every node), traces a few connections with
 * ofproto/trace, takes `ovsdb-client backup`s of the NB and SB and stops the lab. The SB file then grows
 * to the target size with transactions of synthetic Logical_Flows (random uuids, as in bench/ovsdb-load.ts),
 * so that the real cookies are needles in a big table. The trace is the real hop outputs concatenated until
 * it has enough lines. Measured:
 *   - ovn-detrace --ovnnb --ovnsb against an ovsdb-server serving both files (connect, sync, annotate);
 *   - ours: readFileSync + readOvsdbFile of both files + detrace, and detrace alone on an already-read DB.
 * The two outputs are compared line for line. Everything lives in a /tmp directory deleted at the end; the
 * server is stopped by its pid.
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabBackend } from "../src/backends/lab/backend.js";
import { resolveTarget } from "../src/engine/resolve.js";
import { runTraces } from "../src/engine/trace.js";
import { detrace } from "../src/explain/detrace.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../src/lab/lab.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import type { OvsdbDatabase } from "../src/model/ovsdb.js";
import { readOvsdbFile } from "../src/ovsdb/file.js";
import type { TraceTarget } from "../src/model/target.js";

const client = { namespace: "default", name: "client" };
const TARGETS: TraceTarget[] = [
  {
    src: client,
    dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
    protocol: "tcp",
    dstPort: 8080,
  },
  { src: client, dst: { kind: "pod", namespace: "default", name: "web" }, protocol: "tcp", dstPort: 80 },
  { src: client, dst: { kind: "service", namespace: "default", name: "web" }, protocol: "tcp", dstPort: 80 },
  { src: client, dst: { kind: "ip", ip: "8.8.8.8" }, protocol: "tcp", dstPort: 443 },
];

async function traceOutputs(state: LabState): Promise<string[]> {
  const backend = new LabBackend(state);
  const outputs: string[] = [];
  for (const t of TARGETS) {
    const reports = await runTraces(backend, await resolveTarget(backend, t), { skipDetrace: true });
    for (const r of reports)
      for (const h of [...r.forward.hops, ...(r.reply?.hops ?? [])])
        if (h.tool === "ofproto/trace") outputs.push(h.output);
  }
  return outputs;
}

async function backup(state: LabState, db: "NB" | "SB"): Promise<string> {
  const name = db === "NB" ? "OVN_Northbound" : "OVN_Southbound";
  const r = await runOnNode(
    state,
    "ovn-worker",
    ["sh", "-c", `exec ovsdb-client backup "$OVN_${db}_DB" ${name}`],
    60_000,
  );
  if (r.exitCode !== 0) throw new Error(`backup of ${db} failed: ${r.stderr}`);
  return r.stdout;
}

// --- growing the SB -----------------------------------------------------------------------------------

function record(txn: Record<string, unknown>): Buffer {
  const body = Buffer.from(`${JSON.stringify(txn)}\n`);
  const sha1 = createHash("sha1").update(body).digest("hex");
  return Buffer.concat([Buffer.from(`OVSDB JSON ${String(body.length)} ${sha1}\n`), body]);
}

function syntheticFlow(dp: string, n: number): Record<string, unknown> {
  const pod = `ns-${String(n % 97)}_pod-${String(n)}`;
  const ip = `10.${String((n >> 16) & 255)}.${String((n >> 8) & 255)}.${String(n & 255)}`;
  return {
    logical_datapath: ["uuid", dp],
    pipeline: n % 2 === 0 ? "ingress" : "egress",
    table_id: n % 30,
    priority: 50 + (n % 2000),
    match: `inport == "${pod}" && ip4.src == {${ip}} && (tcp.dst == ${String(1024 + (n % 60000))} || udp)`,
    actions: n % 3 === 0 ? "next;" : `reg0[1] = 1; outport = "${pod}"; output;`,
    external_ids: [
      "map",
      [
        ["source", `northd.c:${String(5000 + (n % 900))}`],
        ["stage-hint", randomUUID().slice(0, 8)],
        ["stage-name", "ls_in_acl"],
      ],
    ],
  };
}

function growSb(file: string, targetMb: number): number {
  const sb = readOvsdbFile(new Uint8Array(readFileSync(file)));
  const dps = Object.keys(sb.tables.Datapath_Binding ?? {});
  let n = 0;
  for (let size = statSync(file).size; size < targetMb * 1024 * 1024; size = statSync(file).size) {
    const rows: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++, n++) rows[randomUUID()] = syntheticFlow(dps[n % dps.length] ?? "", n);
    appendFileSync(file, record({ Logical_Flow: rows, _date: Date.now(), _comment: "bench" }));
  }
  return Object.keys(sb.tables.Logical_Flow ?? {}).length + n;
}

// --- ovn-detrace against an ovsdb-server --------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function serve(dir: string, files: string[]): Promise<{ server: ChildProcess; remote: string }> {
  const sock = join(dir, "db.sock");
  const server = spawn(
    "ovsdb-server",
    [
      "--no-chdir",
      `--remote=punix:${sock}`,
      `--unixctl=${join(dir, "db.ctl")}`,
      `--log-file=${join(dir, "db.log")}`,
      "-vconsole:off",
      ...files,
    ],
    { stdio: "ignore" },
  );
  const remote = `unix:${sock}`;
  const t0 = performance.now();
  while (performance.now() - t0 < 120_000 && server.exitCode === null) {
    const r = spawnSync("ovsdb-client", ["--timeout=5", "list-dbs", remote], { encoding: "utf8" });
    if (r.status === 0 && r.stdout.includes("OVN_Southbound")) return { server, remote };
    await sleep(50);
  }
  stopServer(server);
  throw new Error(`ovsdb-server did not come up:\n${readFileSync(join(dir, "db.log"), "utf8")}`);
}

function stopServer(server: ChildProcess): void {
  if (server.pid !== undefined && server.exitCode === null) {
    try {
      process.kill(server.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

function runOvnDetrace(remote: string, trace: string): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync("ovn-detrace", [`--ovnnb=${remote}`, `--ovnsb=${remote}`], {
    input: trace,
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ovn-detrace failed (${String(r.status)}): ${r.stderr}`);
  return { ms, out: r.stdout };
}

// --- main -----------------------------------------------------------------------------------------------

function readDb(file: string): OvsdbDatabase {
  return readOvsdbFile(new Uint8Array(readFileSync(file)));
}

function firstDifference(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  const i = x.findIndex((l, k) => l !== y[k]);
  return i < 0
    ? `lengths ${String(x.length)} vs ${String(y.length)}`
    : `line ${String(i + 1)}: ${x[i] ?? ""} | ${y[i] ?? ""}`;
}

async function main(): Promise<void> {
  const targetMb = Number(process.argv[2] ?? 50);
  const wantLines = Number(process.argv[3] ?? 5000);
  const dir = mkdtempSync(join(tmpdir(), "detrace-bench-"));
  let server: ChildProcess | undefined;
  try {
    const labDir = join(dir, "lab");
    const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind-dualstack.yaml`, "central"), labDir);
    let outputs: string[];
    try {
      outputs = await traceOutputs(state);
      writeFileSync(join(dir, "nb.db"), await backup(state, "NB"));
      writeFileSync(join(dir, "sb.db"), await backup(state, "SB"));
    } finally {
      await labDown(labDir);
    }
    const flows = growSb(join(dir, "sb.db"), targetMb);
    const mb = statSync(join(dir, "sb.db")).size / (1024 * 1024);
    const chunks: string[] = [];
    let lines = 0;
    for (let i = 0; lines < wantLines; i++) {
      const o = outputs[i % outputs.length] ?? "";
      chunks.push(o.endsWith("\n") ? o : `${o}\n`);
      lines += o.split("\n").length;
    }
    const trace = chunks.join("");
    const cookies = (trace.match(/cookie 0x[0-9a-f]+/g) ?? []).length;
    console.log(
      `SB ${mb.toFixed(1)} MB, ${String(flows)} Logical_Flow rows; trace ${String(lines)} lines ` +
        `(${String(outputs.length)} real hop outputs repeated), ${String(cookies)} cookies`,
    );

    const t0 = performance.now();
    const nb = readDb(join(dir, "nb.db"));
    const sb = readDb(join(dir, "sb.db"));
    const tRead = performance.now();
    const ours = detrace(trace, { nb, sb });
    const tFirst = performance.now();
    detrace(trace, { nb, sb });
    const tAgain = performance.now();
    console.log(
      `ours: ${(tFirst - t0).toFixed(0)} ms (read both files ${(tRead - t0).toFixed(0)} ms + detrace with ` +
        `index build ${(tFirst - tRead).toFixed(0)} ms); detrace again, indexes built: ${(tAgain - tFirst).toFixed(0)} ms`,
    );

    const served = await serve(dir, [join(dir, "nb.db"), join(dir, "sb.db")]);
    server = served.server;
    const theirs = runOvnDetrace(served.remote, trace);
    console.log(`ovn-detrace (connect + sync + annotate, server already up): ${theirs.ms.toFixed(0)} ms`);
    console.log(
      `outputs identical: ${theirs.out === ours ? "yes" : `NO (${firstDifference(ours, theirs.out)})`}; ` +
        `${String(ours.split("\n").length)} output lines`,
    );
    console.log(
      `ratio ours/ovn-detrace: ${((tFirst - t0) / theirs.ms).toFixed(3)} including reading the files, ` +
        `${((tAgain - tFirst) / theirs.ms).toFixed(4)} for the annotation alone`,
    );
  } finally {
    if (server !== undefined) stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
