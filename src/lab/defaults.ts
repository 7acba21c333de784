import { fileURLToPath } from "node:url";

/** The scenarios shipped in examples/ (the same relative path from src/ and from dist/). */
export const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));
export const DEFAULT_SCENARIO = `${EXAMPLES_DIR}kind.yaml`;

export const DEFAULT_LAB_DIR = "/tmp/ovnkube-trace-lab";
