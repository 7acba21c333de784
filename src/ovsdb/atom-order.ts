import type { OvsdbAtom } from "../model/ovsdb.js";

/**
 * OVSDB's order of atoms, in which it stores set elements and map keys: strings by code point (the same as
 * by UTF-8 bytes), numbers numerically, false before true. Python's sorted() of the atoms the OVSDB IDL hands
 * over is the same order.
 */
export function compareAtoms(a: OvsdbAtom, b: OvsdbAtom): number {
  if (typeof a === "string" && typeof b === "string") return compareCodePoints(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strings by code point; JavaScript's < compares UTF-16 units, which differs past U+FFFF. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}
