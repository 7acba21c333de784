import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LAYERS, TYPE_ONLY, layerOf } from "../../tools/layers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** Folder → the folders its files import (relative imports, type-only ones too). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(relative(SRC, file));
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)) {
      const to = layerOf(relative(SRC, resolve(dirname(file), m[1] ?? "")));
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

/** A cycle of the graph, or undefined. */
function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c !== undefined) return c;
    }
    path.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c !== undefined) return c;
  }
  return undefined;
}

const allowed = (): Map<string, Set<string>> =>
  new Map(Object.entries(LAYERS).map(([k, v]) => [k, new Set([...v, ...(TYPE_ONLY[k] ?? [])])]));

describe("layers", () => {
  it("finds a cycle when there is one (the checker itself)", () => {
    expect(
      findCycle(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set(["c"])],
          ["c", new Set(["a"])],
        ]),
      ),
    ).toEqual(["a", "b", "c", "a"]);
    expect(
      findCycle(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set<string>()],
        ]),
      ),
    ).toBeUndefined();
  });

  it("the allowed imports (tools/layers.js) have no cycle", () => {
    expect(findCycle(allowed())).toBeUndefined();
  });

  it("every folder of src/ is a layer, and only allowed imports exist", () => {
    const graph = folderGraph();
    const rules = allowed();
    for (const [from, tos] of graph) {
      expect(rules.has(from), `src/${from}/ is not in tools/layers.js`).toBe(true);
      for (const to of tos) expect(rules.get(from)?.has(to), `src/${from}/ imports src/${to}/`).toBe(true);
    }
  });

  it("src/ has no folder-level import cycle", () => {
    expect(findCycle(folderGraph())).toBeUndefined();
  });

  it("docs/architecture.md states the same layers", () => {
    const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
    const rows = new Map(
      doc
        .split("\n")
        .filter((l) => l.startsWith("| `"))
        .map((l) =>
          l
            .split("|")
            .slice(1, -1)
            .map((c) => c.trim()),
        )
        .map(([layer, imports, types]) => [layer ?? "", [imports, types]]),
    );
    const cells = (xs: readonly string[], none: string): string =>
      xs.map((x) => `\`${x}\``).join(" ") || none;
    for (const [layer, imports] of Object.entries(LAYERS)) {
      const types = TYPE_ONLY[layer] ?? [];
      expect(rows.get(`\`${layer}\``), `the row of ${layer} in docs/architecture.md`).toEqual([
        cells(imports, "nothing"),
        cells(types, "-"),
      ]);
    }
    expect(rows.size).toBe(Object.keys(LAYERS).length);
  });
});
