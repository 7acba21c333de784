import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { labDown } from "../../src/lab/lab.js";

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
