import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/**
 * Golden files: the expected output of a pure function on a recorded input, in test/golden/expected/.
 * `npm run golden:update` rewrites them (UPDATE_GOLDEN=1); review the diff before committing. A missing
 * file fails: nothing passes by writing its own expectation.
 */
const EXPECTED = fileURLToPath(new URL("./expected/", import.meta.url));

export function expectGolden(name: string, actual: string): void {
  const path = `${EXPECTED}${name}`;
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`no golden file ${name}: run npm run golden:update and review it`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

/** JSON with maps as objects, for golden files. */
export const asJson = (v: unknown): string =>
  `${JSON.stringify(v, (_k, x: unknown): unknown => (x instanceof Map ? (Object.fromEntries(x) as unknown) : x), 2)}
`;
