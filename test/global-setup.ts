import { beginTestRun, downAllTestLabs } from "./helpers/lab.js";

export function setup(): void {
  beginTestRun();
}

/** Whatever happens in the tests, no lab daemon outlives the suite. */
export async function teardown(): Promise<void> {
  const n = await downAllTestLabs();
  if (n > 0) process.stderr.write(`global teardown stopped ${n} leftover lab daemons\n`);
}
