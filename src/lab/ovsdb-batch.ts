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
