import { createRequire } from "node:module";

/** The package version (package.json sits at the same relative place from src/ and dist/). */
export const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
