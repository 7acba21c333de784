import type { ClusterBackend, NodeUse } from "../cluster/backend.js";
import type { TracedHop } from "../model/traced-hop.js";

/**
 * A verdict is true or unknown: when the backend knows that what a trace used is incomplete (a snapshot without
 * a node on the path, a bridge whose flows did not load, a missing tunnel route), what the traces said about the
 * packet cannot be trusted, and the verdict says why instead.
 */

/** What the OpenFlow traces of a direction used on each node they ran on. */
export function nodeUses(hops: readonly TracedHop[]): Map<string, NodeUse> {
  const uses = new Map<string, { bridges: Set<string>; tunnel: boolean }>();
  for (const { hop } of hops) {
    const u = uses.get(hop.node) ?? { bridges: new Set<string>(), tunnel: false };
    uses.set(hop.node, u);
    if (hop.tool !== "ofproto/trace") continue;
    // A hop that ends in a tunnel was decided in its first bridge (br-int's tnl_push): the outer packet's way out
    // through the uplink bridge (NORMAL, its MAC table) does not change where it goes next.
    const names = [...hop.output.matchAll(/^\s*bridge\("([^"]+)"\)/gm)].flatMap((m) =>
      m[1] === undefined ? [] : [m[1]],
    );
    for (const name of hop.outcome.kind === "tunnel" ? names.slice(0, 1) : names) u.bridges.add(name);
    if (hop.output.includes("-> output to native tunnel")) u.tunnel = true;
  }
  return new Map([...uses].map(([node, u]) => [node, { bridges: [...u.bridges], tunnel: u.tunnel }]));
}

/** Every problem the backend knows of the data the hops used (empty: complete, or a backend that cannot tell). */
export async function incompleteInputs(b: ClusterBackend, hops: readonly TracedHop[]): Promise<string[]> {
  const check = b.incompleteData?.bind(b);
  if (check === undefined) return [];
  const found = await Promise.all([...nodeUses(hops)].map(([node, used]) => check(node, used)));
  return found.flat();
}
