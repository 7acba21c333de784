import { downAllTestLabs } from "./helpers/lab.js";

/** Whatever happens in the tests, no lab daemon outlives the suite. */
export async function teardown(): Promise<void> {
  const n = await downAllTestLabs();
  if (n > 0) process.stderr.write(`global teardown stopped ${n} leftover lab daemons\n`);
}
