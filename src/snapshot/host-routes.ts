import { contains, parseCidr, parseIp, type Cidr, type Family, type Ip } from "../net/ip.js";

/**
 * A node's kernel routes as a snapshot records them (`ip -j route show table all`, `ip -j [-6] rule show`), and the
 * answer `ip -j route get DST from SRC iif DEV` would give on the node, looked up in them: the local table, then
 * main, then default (the kernel's default rules), longest prefix first. What the lookup cannot decide as the kernel
 * would (policy rules of its own, a multipath route) is a failure with the reason, never a guess.
 */

/** One route as `ip -j route show` prints it (the fields the lookup reads). */
interface KernelRoute {
  readonly type?: string;
  readonly dst: string;
  readonly table?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly nexthops?: readonly unknown[];
  readonly metric?: number;
}

interface KernelRule {
  readonly priority: number;
  readonly src?: string;
  readonly table?: string;
  readonly [selector: string]: unknown;
}

/** One family's routes (every table) and rules, as the node printed them. */
interface FamilyRoutes {
  readonly routes: readonly KernelRoute[];
  readonly rules: readonly KernelRule[];
}

/** What the snapshot holds: each family whose routes and rules could be read. */
export type RecordedHostRoutes = Partial<Record<"ipv4" | "ipv6", FamilyRoutes>>;

/** The outputs of `ip -j -4|-6 route show table all` and `ip -j -4|-6 rule show` as one JSON document. */
export function recordHostRoutes(
  outputs: Record<"ipv4" | "ipv6", { routes?: string; rules?: string }>,
): string {
  const list = (text: string | undefined): unknown[] | undefined => {
    try {
      const v: unknown = text === undefined ? undefined : JSON.parse(text);
      return Array.isArray(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const out: Record<string, { routes: unknown[]; rules: unknown[] }> = {};
  for (const fam of ["ipv4", "ipv6"] as const) {
    const [routes, rules] = [list(outputs[fam].routes), list(outputs[fam].rules)];
    if (routes !== undefined && rules !== undefined) out[fam] = { routes, rules };
  }
  return `${JSON.stringify(out)}\n`;
}

/** The kernel's own rules: nothing but which table to look in, for every source. */
const DEFAULT_TABLES: Record<Family, readonly string[]> = {
  4: ["local", "main", "default"],
  6: ["local", "main"],
};

function onlyDefaultRules(rules: readonly KernelRule[], f: Family): boolean {
  const plain = rules.every((r) =>
    Object.keys(r).every((k) => k === "priority" || k === "table" || (k === "src" && r.src === "all")),
  );
  return plain && rules.map((r) => r.table ?? "").join(",") === DEFAULT_TABLES[f].join(",");
}

const destination = (r: KernelRoute, f: Family): Cidr | undefined => {
  if (r.dst === "default") return parseCidr(f === 4 ? "0.0.0.0/0" : "::/0");
  return parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/${f === 4 ? "32" : "128"}`);
};

/** The route of one table that matches longest (lowest metric among equals). */
function longestMatch(routes: readonly KernelRoute[], table: string, dst: Ip): KernelRoute | undefined {
  let best: { route: KernelRoute; prefix: number; metric: number } | undefined;
  for (const r of routes) {
    if ((r.table ?? "main") !== table) continue;
    const c = destination(r, dst.family);
    if (c?.family !== dst.family || !contains(c, dst)) continue;
    const metric = r.metric ?? 0;
    if (best === undefined || c.prefix > best.prefix || (c.prefix === best.prefix && metric < best.metric))
      best = { route: r, prefix: c.prefix, metric };
  }
  return best?.route;
}

export type RouteGetAnswer =
  { readonly ok: true; readonly json: string } | { readonly ok: false; readonly error: string };

/** What `ip -j route get DST from SRC iif IIF` answers on the node, from its recorded routes. */
export function routeGet(
  recorded: RecordedHostRoutes,
  dst: string,
  src: string,
  iif: string,
): RouteGetAnswer {
  const d = parseIp(dst);
  if (d === undefined) return { ok: false, error: `Error: inet prefix is expected rather than "${dst}".` };
  const fam = recorded[d.family === 4 ? "ipv4" : "ipv6"];
  if (fam === undefined) return { ok: false, error: `the snapshot has no IPv${d.family} routes of the node` };
  if (!onlyDefaultRules(fam.rules, d.family))
    return {
      ok: false,
      error: "the node has policy routing rules (ip rule) that the snapshot's lookup does not evaluate",
    };
  for (const table of DEFAULT_TABLES[d.family]) {
    const r = longestMatch(fam.routes, table, d);
    if (r === undefined) continue;
    if (r.nexthops !== undefined)
      return { ok: false, error: `a multipath route (${r.dst}): the kernel picks its next hop by hash` };
    const type = r.type ?? "unicast";
    if (["unreachable", "blackhole", "prohibit", "throw"].includes(type))
      return { ok: false, error: `RTNETLINK answers: the route ${r.dst} is of type ${type}` };
    const route =
      type === "local"
        ? { type, dst, from: src, dev: "lo", iif }
        : {
            ...(type === "unicast" ? {} : { type }),
            dst,
            from: src,
            ...(r.gateway === undefined ? {} : { gateway: r.gateway }),
            ...(r.dev === undefined ? {} : { dev: r.dev }),
            iif,
          };
    return { ok: true, json: `${JSON.stringify([route])}\n` };
  }
  return { ok: false, error: "RTNETLINK answers: Network is unreachable" };
}
