import { InputError } from "../errors.js";

/** Kubernetes label and field selectors, as `kubectl -l` / `--field-selector` and the API take them. */

type Requirement =
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: readonly string[] }
  | { readonly op: "exists" | "!exists"; readonly key: string };

/** Splits on commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function parseRequirement(term: string, selector: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? "").split(",").map((v) => v.trim());
    return { op: set[2] === "in" ? "in" : "notin", key: set[1] ?? "", values };
  }
  const cmp = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (cmp) return { op: cmp[2] === "!=" ? "!=" : "=", key: cmp[1] ?? "", value: cmp[3] ?? "" };
  if (/^![^!=\s()]+$/.test(term)) return { op: "!exists", key: term.slice(1) };
  if (/^[^!=\s()]+$/.test(term)) return { op: "exists", key: term };
  throw new InputError(`invalid selector "${selector}": cannot parse "${term}"`);
}

function matches(reqs: readonly Requirement[], get: (key: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = get(r.key);
    switch (r.op) {
      case "=":
        return v === r.value;
      case "!=":
        return v !== r.value;
      case "in":
        return v !== undefined && r.values.includes(v);
      case "notin":
        return v === undefined || !r.values.includes(v);
      case "exists":
        return v !== undefined;
      case "!exists":
        return v === undefined;
    }
  });
}

/** A label selector as a predicate on an object's labels. */
export function labelSelector(
  selector: string | undefined,
): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  const reqs = terms(selector ?? "").map((t) => parseRequirement(t, selector ?? ""));
  return (labels) => matches(reqs, (k) => labels?.[k]);
}

const FIELDS: Record<string, (o: KubeObjectLike) => string | undefined> = {
  "metadata.name": (o) => o.metadata?.name,
  "metadata.namespace": (o) => o.metadata?.namespace,
  "spec.nodeName": (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName,
  "status.phase": (o) => (o.status as { phase?: string } | undefined)?.phase,
};

export interface KubeObjectLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

/** A field selector (the fields the API server supports for the kinds we read) as a predicate. */
export function fieldSelector(selector: string | undefined): (o: KubeObjectLike) => boolean {
  const reqs = terms(selector ?? "").map((t) => {
    const r = parseRequirement(t, selector ?? "");
    if (r.op !== "=" && r.op !== "!=")
      throw new InputError(`invalid field selector "${selector ?? ""}": only =, == and != are supported`);
    if (FIELDS[r.key] === undefined) throw new InputError(`field label not supported: ${r.key}`);
    return r;
  });
  return (o) => matches(reqs, (k) => FIELDS[k]?.(o));
}
