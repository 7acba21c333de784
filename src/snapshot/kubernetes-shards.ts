/**
 * A snapshot's Kubernetes objects (tens of MB on a big cluster) written once as one file per kind and
 * namespace, so that a run parses only the namespaces it asks about. Each object keeps its place in the
 * whole list: a list across namespaces comes back in the order the objects had.
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ObjectSource } from "../cluster/object-store.js";
import { ProcessError } from "../errors.js";

const FORMAT = 1;
const INDEX = "index.json";

interface ShardIndex {
  readonly format: number;
  /** kind → namespace (`""` for objects without one) → its file. */
  readonly files: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

interface Located {
  readonly kind?: unknown;
  readonly metadata?: { readonly namespace?: unknown };
}

/** Writes `items` (objects without a string kind are left out: no lookup names them) into `dir`. */
export function writeKubernetesShards(items: readonly unknown[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  const groups = new Map<string, Map<string, [number, unknown][]>>();
  for (const [position, item] of items.entries()) {
    const o = item as Located;
    if (typeof o.kind !== "string") continue;
    const ns = typeof o.metadata?.namespace === "string" ? o.metadata.namespace : "";
    const byNs = groups.get(o.kind) ?? new Map<string, [number, unknown][]>();
    groups.set(o.kind, byNs);
    const list = byNs.get(ns) ?? [];
    byNs.set(ns, list);
    list.push([position, item]);
  }
  const files: Record<string, Record<string, string>> = {};
  let n = 0;
  for (const [kind, byNs] of groups) {
    const entry: Record<string, string> = {};
    files[kind] = entry;
    for (const [ns, list] of byNs) {
      const file = `k${String(n++)}.json`;
      writeFileSync(join(dir, file), JSON.stringify(list));
      entry[ns] = file;
    }
  }
  const index: ShardIndex = { format: FORMAT, files };
  // last: a directory without it is not an index
  writeFileSync(join(dir, INDEX), JSON.stringify(index));
}

/** The objects written into `dir` as an ObjectSource; undefined when `dir` holds none of this format. */
export function openKubernetesShards(dir: string): ObjectSource | undefined {
  let index: ShardIndex;
  try {
    index = JSON.parse(readFileSync(join(dir, INDEX), "utf8")) as ShardIndex;
  } catch {
    return undefined;
  }
  if (index.format !== FORMAT) return undefined;
  const read = new Map<string, readonly [number, unknown][]>();
  const shard = (file: string): readonly [number, unknown][] => {
    let list = read.get(file);
    if (list === undefined) {
      try {
        list = JSON.parse(readFileSync(join(dir, file), "utf8")) as [number, unknown][];
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new ProcessError(`the Kubernetes objects in ${dir} do not read (${why})`);
      }
      read.set(file, list);
    }
    return list;
  };
  return {
    objects(kind, namespace) {
      const byNs = Object.hasOwn(index.files, kind) ? index.files[kind] : undefined;
      if (byNs === undefined) return [];
      if (namespace !== undefined) {
        const file = Object.hasOwn(byNs, namespace) ? byNs[namespace] : undefined;
        return file === undefined ? [] : shard(file).map(([, o]) => o);
      }
      return Object.values(byNs)
        .flatMap((file) => shard(file))
        .sort((a, b) => a[0] - b[0])
        .map(([, o]) => o);
    },
  };
}
