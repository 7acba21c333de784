// @ts-check
/**
 * The folders of src/ and what each may import (besides itself). The single source of the layering:
 * the ESLint rule below enforces it on every import, and test/layers.test.ts checks that it has no
 * cycle and that docs/architecture.md states the same. "." is the files at src/'s root (errors, version).
 * @type {Readonly<Record<string, readonly string[]>>}
 */
export const LAYERS = {
  model: [],
  ".": ["model"],
  net: ["model", "."],
  ovsdb: ["model", "."],
  parsers: ["ovsdb", "net", "model", "."],
  cluster: ["ovsdb", "net", "model", "."],
  ovs: ["cluster", "model", "."],
  render: ["net", "model", "."],
  explain: ["render", "parsers", "ovsdb", "net", "model", "."],
  lab: ["cluster", "ovs", "parsers", "ovsdb", "net", "model", "."],
  snapshot: ["cluster", "ovs", "parsers", "ovsdb", "net", "model", "."],
  engine: ["cluster", "explain", "parsers", "ovsdb", "net", "model", "."],
  backends: ["lab", "snapshot", "cluster", "ovs", "parsers", "ovsdb", "net", "model", "."],
  app: [
    "backends",
    "engine",
    "lab",
    "snapshot",
    "explain",
    "render",
    "cluster",
    "ovs",
    "parsers",
    "ovsdb",
    "net",
    "model",
    ".",
  ],
  cli: ["app", "model", "."],
};

/**
 * Layers a folder may import types from, and nothing else: renderers are pure functions of data whose types
 * live beside the code that makes it (a lab's state, a snapshot's manifest), which never runs in them.
 * @type {Readonly<Record<string, readonly string[]>>}
 */
export const TYPE_ONLY = {
  render: ["lab", "snapshot", "cluster"],
};

/** The layer of a path relative to src/ ("engine/trace.ts" → "engine", "errors.ts" → "."). */
export function layerOf(/** @type {string} */ pathInSrc) {
  const parts = pathInSrc.split("/");
  return parts.length === 1 ? "." : (parts[0] ?? ".");
}
