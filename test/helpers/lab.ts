import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { labDown } from "../../src/lab/lab.js";

/** Every lab a test starts lives under this root, so the global teardown can stop leftovers. */
export const TEST_LAB_ROOT = "/tmp/otl-test";

export function newLabDir(): string {
  mkdirSync(TEST_LAB_ROOT, { recursive: true });
  return mkdtempSync(join(TEST_LAB_ROOT, "l"));
}

export async function downAllTestLabs(): Promise<number> {
  let n = 0;
  let dirs: string[] = [];
  try {
    dirs = readdirSync(TEST_LAB_ROOT);
  } catch {
    return 0;
  }
  for (const d of dirs) n += await labDown(join(TEST_LAB_ROOT, d));
  // what is left are scratch dirs (kubeconfigs, bad scenario files): no daemon runs from them
  rmSync(TEST_LAB_ROOT, { recursive: true, force: true });
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
