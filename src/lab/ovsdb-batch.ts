/**
 * A batch of ovn-nbctl / ovn-sbctl / ovs-vsctl commands that runs as one transaction:
 * `prog -- cmd1 args -- cmd2 args ...`, built as argv (never a shell string).
 */
export class CtlBatch {
  private readonly cmds: string[][] = [];

  add(...cmd: string[]): this {
    this.cmds.push(cmd);
    return this;
  }

  get size(): number {
    return this.cmds.length;
  }

  argv(program: string, options: readonly string[] = []): string[] {
    return [program, ...options, ...this.cmds.flatMap((c) => ["--", ...c])];
  }

  /**
   * The batch as one or more command lines of at most `maxBytes` each (the kernel refuses an argv over ARG_MAX,
   * 2 MiB with the environment), to run one after the other: each a transaction of its own. A batch is cut only
   * where no `@id` a command defines (`--id=@x`) is used after the cut; a run that cannot be cut and is larger than
   * `maxBytes` makes a command line of its own.
   */
  argvChunks(program: string, options: readonly string[] = [], maxBytes = 1024 * 1024): string[][] {
    const cost = (args: readonly string[]): number => args.reduce((a, x) => a + Buffer.byteLength(x) + 1, 0);
    const definedAt = this.cmds.map((c) => (c[0]?.startsWith("--id=@") ? c[0].slice(5) : undefined));
    const ids = new Set(definedAt.filter((x) => x !== undefined));
    const lastUse = new Map<string, number>();
    for (const [i, c] of this.cmds.entries())
      for (const a of c.slice(1))
        for (const id of a.match(/@[\w.-]+/g) ?? []) if (ids.has(id)) lastUse.set(id, i);
    const base = cost([program, ...options]);
    const chunks: string[][][] = [];
    let chunk: string[][] = [];
    let size = base;
    for (let i = 0; i < this.cmds.length;) {
      // the smallest run from i that no id crosses
      let end = i;
      for (let j = i; j <= end; j++) {
        const id = definedAt[j];
        end = Math.max(end, id === undefined ? j : (lastUse.get(id) ?? j));
      }
      const unit = this.cmds.slice(i, end + 1);
      const unitSize = unit.reduce((n, c) => n + cost(c) + 3, 0);
      if (chunk.length > 0 && size + unitSize > maxBytes) {
        chunks.push(chunk);
        chunk = [];
        size = base;
      }
      chunk.push(...unit);
      size += unitSize;
      i = end + 1;
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks.map((cmds) => [program, ...options, ...cmds.flatMap((c) => ["--", ...c])]);
  }
}

/** `key=value` for an OVSDB map column, quoting both sides as ctl programs need. */
export function kv(column: string, key: string, value: string | number | boolean): string {
  return `${column}:${quote(key)}=${quote(String(value))}`;
}

/** A string as an OVSDB ctl atom: always double-quoted, with \ and " escaped. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** `column=[a,b]` / `column={}` set syntax. */
export function setOf(column: string, values: readonly string[]): string {
  return `${column}=[${values.map(quote).join(",")}]`;
}
