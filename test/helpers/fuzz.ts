import { expect } from "vitest";
import type { SourceRef } from "../../src/model/source.js";
import { concatBytes, expectEveryLineAccountedFor } from "./fixtures.js";
import { ParseError } from "../../src/errors.js";

import { seededRandom, type Random } from "../../src/seeded-random.js";

export { seededRandom, type Random };

/** A whole number in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[randomInt(random, items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** Two positions in [0, n], in order. */
function span(random: Random, n: number): [number, number] {
  const a = randomInt(random, n + 1);
  const b = randomInt(random, n + 1);
  return a <= b ? [a, b] : [b, a];
}

export interface TextMutation {
  /** What replaced characters are drawn from: the syntax of the format under test (a string: its characters). */
  readonly alphabet: string | readonly string[];
  /** At most this many characters replaced by one mutation. */
  readonly maxReplacements?: number;
  /**
   * Mutate a window of at most this many lines of each source (now and then all of it), so that a
   * big fixture's damage is not always near its start; a third of the windows start at line 1, where the
   * headers that make the text recognizable are.
   */
  readonly windowLines?: number;
}

function windowOf(random: Random, text: string, windowLines: number | undefined): string[] {
  const lines = text.split("\n");
  if (windowLines === undefined || random() < 0.02) return lines;
  const start = randomInt(random, 3) === 0 ? 0 : randomInt(random, lines.length);
  return lines.slice(start, start + 1 + randomInt(random, windowLines));
}

function replaceCharacters(random: Random, text: string, options: TextMutation): string {
  // UTF-16 code units on purpose: a mutation may also split a surrogate pair.
  const chars = text.split("");
  if (chars.length === 0) return text;
  const symbols = typeof options.alphabet === "string" ? options.alphabet.split("") : options.alphabet;
  const count = 1 + randomInt(random, options.maxReplacements ?? 8);
  for (let k = 0; k < count; k++) chars[randomInt(random, chars.length)] = pick(random, symbols);
  return chars.join("");
}

function interleave(random: Random, lines: readonly string[], others: readonly string[]): string[] {
  const merged: string[] = [];
  let i = 0;
  let j = 0;
  while (i < lines.length || j < others.length) {
    if (j >= others.length || (i < lines.length && random() < 0.5)) merged.push(lines[i++] ?? "");
    else merged.push(others[j++] ?? "");
  }
  return merged;
}

function shuffle(random: Random, lines: readonly string[]): string[] {
  const copy = [...lines];
  // Half the time a few swapped lines (mostly intact output), else all of them in random order.
  const swaps = random() < 0.5 ? 1 + randomInt(random, 20) : copy.length;
  for (let k = 0; k < swaps; k++) {
    const a = randomInt(random, copy.length);
    const b = randomInt(random, copy.length);
    [copy[a], copy[b]] = [copy[b] ?? "", copy[a] ?? ""];
  }
  return copy;
}

/** One structural damage: a cut (at characters or whole lines), shuffled, interleaved or repeated lines. */
function damageText(random: Random, lines: string[], joined: string, other: () => string[]): string {
  switch (randomInt(random, 7)) {
    case 0:
      return joined.slice(0, randomInt(random, joined.length + 1)); // truncated
    case 1:
      return joined.slice(randomInt(random, joined.length + 1)); // started late
    case 2: {
      const [a, b] = span(random, joined.length); // a piece cut out of the middle
      return joined.slice(0, a) + joined.slice(b);
    }
    case 3: {
      const [a, b] = span(random, lines.length); // whole lines cut out or kept
      return (random() < 0.5 ? lines.slice(a, b) : [...lines.slice(0, a), ...lines.slice(b)]).join("\n");
    }
    case 4:
      return shuffle(random, lines).join("\n");
    case 5:
      return interleave(random, lines, other()).join("\n");
    default: {
      const [a, b] = span(random, lines.length); // lines repeated, as a doubled paste
      return [...lines.slice(0, b), ...lines.slice(a, b), ...lines.slice(b)].join("\n");
    }
  }
}

/**
 * One random damage of `text`: a cut (prefix, suffix, middle; at characters or whole lines), shuffled
 * lines, lines interleaved with `other` (as two outputs written to one terminal), repeated lines,
 * replaced characters, or a structural damage followed by replaced characters.
 */
export function mutateText(random: Random, text: string, other: string, options: TextMutation): string {
  const lines = windowOf(random, text, options.windowLines);
  const joined = lines.join("\n");
  const otherLines = (): string[] => windowOf(random, other, options.windowLines);
  switch (randomInt(random, 4)) {
    case 0:
      return replaceCharacters(random, joined, options);
    case 1:
      return replaceCharacters(random, damageText(random, lines, joined, otherLines), options);
    default:
      return damageText(random, lines, joined, otherLines);
  }
}

/** `count` damaged copies of texts drawn from `sources`, each interleaved (if so) with another of them. */
export function mutatedTexts(
  random: Random,
  sources: readonly string[],
  count: number,
  options: TextMutation,
): string[] {
  return Array.from({ length: count }, () =>
    mutateText(random, pick(random, sources), pick(random, sources), options),
  );
}

export interface BytesMutation {
  /** Bytes of the format's syntax, written over random bytes (besides fully random ones). */
  readonly alphabet: Uint8Array;
  /** At most this many bytes deleted or repeated in one piece. */
  readonly maxChunk: number;
}

/** One random damage of a binary-ish input: a cut, random or syntax bytes written over it, a repeated chunk. */
export function mutateBytes(random: Random, src: Uint8Array, options: BytesMutation): Uint8Array {
  const a = randomInt(random, src.length);
  const b = a + randomInt(random, Math.min(options.maxChunk, src.length - a));
  switch (randomInt(random, 6)) {
    case 0:
      return src.subarray(0, a);
    case 1:
      return src.subarray(a);
    case 2:
      return concatBytes(src.subarray(0, a), src.subarray(b));
    case 3: {
      const out = src.slice();
      for (let i = 0, n = 1 + randomInt(random, 8); i < n; i++)
        out[randomInt(random, out.length)] = randomInt(random, 256);
      return out;
    }
    case 4: {
      const out = src.slice();
      for (let i = 0, n = 1 + randomInt(random, 4); i < n; i++) {
        out[randomInt(random, out.length)] =
          options.alphabet[randomInt(random, options.alphabet.length)] ?? 0;
      }
      return out;
    }
    default: {
      const c = randomInt(random, src.length);
      return concatBytes(src.subarray(0, c), src.subarray(a, b), src.subarray(c));
    }
  }
}

export interface FuzzOutcome {
  /** Calls that returned. */
  parsed: number;
  /** Calls that threw a ParseError. */
  rejected: number;
}

export interface FuzzExpectations<T> {
  /** More than this many calls must return (the damage is not so heavy that nothing parses). */
  readonly minParsed?: number;
  /** More than this many calls must throw a ParseError (the damage does reach the parser). */
  readonly minRejected?: number;
  /** Further checks of each ParseError, e.g. that its position lies in the input. */
  readonly checkError?: (error: ParseError, input: T) => void;
}

function describeInput(input: unknown): string {
  const text = input instanceof Uint8Array ? `${input.length} bytes` : JSON.stringify(input);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Runs every one of `parsers` on every input: each returns (it may assert on what it returns) or throws a
 * ParseError that is not a parser bug wrapped by guardParse. Anything else fails with the case's number and
 * input. Returns how many calls returned and how many were rejected, over all parsers.
 */
export function expectOnlyParseErrors<T>(
  parsers: ((input: T) => unknown) | readonly ((input: T) => unknown)[],
  inputs: Iterable<T>,
  expectations: FuzzExpectations<T> = {},
): FuzzOutcome {
  const outcome: FuzzOutcome = { parsed: 0, rejected: 0 };
  let n = 0;
  for (const input of inputs) {
    for (const parse of typeof parsers === "function" ? [parsers] : parsers) {
      try {
        parse(input);
        outcome.parsed++;
      } catch (e) {
        if (!(e instanceof ParseError)) {
          throw new Error(`case ${n}: ${String(e)} on ${describeInput(input)}`, { cause: e });
        }
        expect(e.message, `case ${n}`).not.toMatch(/internal error/);
        expectations.checkError?.(e, input);
        outcome.rejected++;
      }
    }
    n++;
  }
  if (expectations.minParsed !== undefined) expect(outcome.parsed).toBeGreaterThan(expectations.minParsed);
  if (expectations.minRejected !== undefined)
    expect(outcome.rejected).toBeGreaterThan(expectations.minRejected);
  return outcome;
}

export interface LineParserFuzz extends TextMutation {
  readonly seed: number;
  /** Real samples to damage (and to interleave with one another). */
  readonly sources: readonly string[];
}

/**
 * The fuzz test of a line-oriented parser: 3000 damaged samples, each rejected with a ParseError or parsed
 * with every non-blank line accounted for; more than 100 of them must parse and more than 10 be rejected.
 */
export function expectDamagedSamplesAccountedFor<D>(
  parse: (text: string) => D,
  accountedLines: (doc: D) => readonly SourceRef[],
  fuzz: LineParserFuzz,
): void {
  const { seed, sources, ...mutation } = fuzz;
  expectOnlyParseErrors(
    (input: string) => {
      expectEveryLineAccountedFor(input, accountedLines(parse(input)));
    },
    mutatedTexts(seededRandom(seed), sources, 3000, mutation),
    { minParsed: 100, minRejected: 10 },
  );
}
