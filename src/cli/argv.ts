/**
 * The Go ovnkube-trace takes single-dash long flags (-src, -dst-port=80). Turn them into the
 * double-dash form commander parses; single-letter flags (-o) and values are left alone.
 */
export function normalizeGoFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const a of argv) {
    if (rest || a === "--") {
      rest = true;
      out.push(a);
    } else if (/^-[a-zA-Z][a-zA-Z0-9-]+(=.*)?$/.test(a)) out.push(`-${a}`);
    else out.push(a);
  }
  return out;
}

/** "ns/name", or "name" in `namespace` (none: the cluster's default namespace, found once it is known). */
export function splitRef(ref: string, namespace?: string): { namespace?: string; name: string } {
  const i = ref.indexOf("/");
  if (i >= 0) return { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
  return namespace === undefined ? { name: ref } : { namespace, name: ref };
}
