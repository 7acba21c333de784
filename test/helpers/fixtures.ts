import { readdirSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import type { ParsedDocument, SourceRef } from "../../src/model/source.js";

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** A file under test/fixtures/ (the project's own copies: a fresh clone has nothing else). */
export function fixtureBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, FIXTURES)));
}

export function fixtureText(path: string): string {
  return readFileSync(new URL(path, FIXTURES), "utf8");
}

/** The fixtures of `dir` (under test/fixtures/) whose names end with `ending`, sorted. */
export function fixtureNames(dir: string, ending = ".txt"): string[] {
  return readdirSync(new URL(`${dir}/`, FIXTURES))
    .filter((name) => name.endsWith(ending))
    .sort();
}

/** The bytes of `parts` one after the other, in a new plain Uint8Array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Numbers of the lines that have something on them: what a parse must account for. */
export function contentLines(text: string): number[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => (line.trim() === "" ? 0 : i + 1))
    .filter((n) => n > 0);
}

/** Asserts that `sources` (the records' and the unconsumed lines) name every non-blank line of `text` once. */
export function expectEveryLineAccountedFor(
  text: string,
  sources: readonly SourceRef[],
  label?: string,
): void {
  expect(
    sources.map((s) => s.line).sort((a, b) => a - b),
    label,
  ).toEqual(contentLines(text));
}

/** Asserts what every parse of a real sample must give: nothing unconsumed, and plain JSON-safe data. */
export function expectCleanParse(doc: ParsedDocument<string>, label?: string): void {
  expect(doc.unconsumed, label).toEqual([]);
  expect(JSON.parse(JSON.stringify(doc)), label).toEqual(doc);
}

/**
 * What every real sample of a line-oriented output must give: every non-blank line accounted for by a
 * record (`accountedLines`: the records' sources and the unconsumed lines), none unconsumed, JSON-safe data.
 */
export function expectLosslessParses<D extends ParsedDocument<string>>(
  samples: Readonly<Record<string, string>>,
  parse: (text: string) => D,
  accountedLines: (doc: D) => readonly SourceRef[],
): void {
  for (const [name, text] of Object.entries(samples)) {
    const doc = parse(text);
    expectCleanParse(doc, name);
    expectEveryLineAccountedFor(text, accountedLines(doc), name);
  }
}
