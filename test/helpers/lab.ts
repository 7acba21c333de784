import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { setTimeout as sleep } from "node:timers/promises";
import { labDown, runOnNode, type LabState } from "../../src/lab/lab.js";

/**
 * Every lab a test run starts lives under this run's own root, so that its global teardown stops its
 * leftovers and never the labs of another run going on at the same time.
 */
const TEST_LAB_ROOT = "/tmp/otl-test";
const runRoot = (): string => join(TEST_LAB_ROOT, process.env.OTL_TEST_RUN ?? `p${String(process.pid)}`);

export function newLabDir(): string {
  mkdirSync(runRoot(), { recursive: true });
  return mkdtempSync(join(runRoot(), "l"));
}

/** Names this run (the global setup's process): workers inherit it and put their labs under it. */
export function beginTestRun(): void {
  process.env.OTL_TEST_RUN = `r${String(process.pid)}`;
}

export async function downAllTestLabs(): Promise<number> {
  const root = runRoot();
  let n = 0;
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root);
  } catch {
    return 0;
  }
  for (const d of dirs) n += await labDown(join(root, d));
  // what is left are scratch dirs (kubeconfigs, bad scenario files): no daemon runs from them
  rmSync(root, { recursive: true, force: true });
  return n;
}

/** The example scenario as written (ground truth for expectations: what the user declared). */
export interface ExamplePod {
  namespace: string;
  name: string;
  node: string;
  ips: string[];
}
export function examplePods(file: string): ExamplePod[] {
  return (parse(readFileSync(file, "utf8")) as { pods: ExamplePod[] }).pods;
}

/**
 * Waits until every node's breth0 has learned the MAC of every node (its own on LOCAL, the others on the
 * uplink), from the gateway routers' gratuitous ARPs that ovn-controller sends a few seconds after start.
 * Until then NORMAL floods: a snapshot taken earlier replays a table the live lab no longer has.
 */
export async function waitForMacLearning(state: LabState, timeoutMs = 60_000): Promise<void> {
  const want = state.cluster.nodes.map((n) => n.mac.toLowerCase());
  const deadline = performance.now() + timeoutMs;
  for (const node of state.cluster.nodes) {
    for (;;) {
      const r = await runOnNode(state, node.name, ["ovs-appctl", "fdb/show", "breth0"]);
      const learned = r.stdout.toLowerCase();
      if (r.exitCode === 0 && want.every((mac) => learned.includes(mac))) break;
      if (performance.now() > deadline)
        throw new Error(
          `breth0 of ${node.name} did not learn every node's MAC in ${String(timeoutMs)} ms:\n${r.stdout}`,
        );
      await sleep(200);
    }
  }
}

/** Processes whose environment says they run from a directory under `root` (what the tool starts there). */
export function processesUnder(root: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, "utf8")
          .split("\0")
          .some((kv) => kv.startsWith(`OVS_RUNDIR=${root}/`) || kv === `OVS_RUNDIR=${root}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * The processes still running under `root` once those stopping have had `timeoutMs` to exit (a daemon stopped by
 * pid may take a moment on a busy machine): [] when everything is gone.
 */
export async function processesLeftUnder(root: string, timeoutMs = 15_000): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  let left = processesUnder(root);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesUnder(root);
  }
  return left;
}
