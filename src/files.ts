import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { InputError } from "./errors.js";

const tooLarge = (path: string, maxBytes: number, what: string): InputError =>
  new InputError(`${what} ${path} is larger than ${String(Math.round(maxBytes / 2 ** 20))} MiB`, {
    hint: "is it the right file?",
  });

/**
 * Reads a user-given file (or standard input, "-") up to `maxBytes`, in chunks, so that a huge or endless
 * input (`/dev/zero`, a wrong file) ends with a one-line error instead of exhausting memory.
 */
export function readBounded(path: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    fd = path === "-" ? 0 : openSync(path, "r");
  } catch (e) {
    throw new InputError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    // a regular file says its size: refuse it before reading
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw tooLarge(path, maxBytes, what);
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue;
        throw new InputError(`cannot read ${what} ${path}: ${code ?? String(e)}`);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge(path, maxBytes, what);
      chunks.push(chunk.subarray(0, n));
    }
  } finally {
    if (path !== "-") closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}
