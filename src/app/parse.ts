import { readBounded } from "../files.js";
import { PARSE_SCHEMA_VERSION, type ParsedKind, type ParseOutput } from "../model/parsed.js";
import { parseAs } from "../parsers/registry.js";
import { renderDocument } from "../render/document.js";
import { summarizeParsed } from "../render/parsed-text.js";
import { ok, type CommandResult, type OutputFormat } from "./command.js";

/** `ovnkube-trace parse`: any OVS/OVN output (or an OVSDB file) as JSON, or a text summary of it. */
export interface ParseCommand {
  /** A path, or "-" for standard input. */
  readonly file: string;
  /** The kind; detected from the content when absent. */
  readonly as?: ParsedKind;
  readonly output: OutputFormat;
}

/** Inputs larger than this are not an output of OVS or OVN (a 500 MB flow dump still fits). */
const MAX_INPUT_BYTES = 600 * 2 ** 20;

/** The bytes of a file or of standard input ("-"), bounded, or an InputError saying why not. */
export function readInput(file: string): Uint8Array {
  return readBounded(file, MAX_INPUT_BYTES, file === "-" ? "standard input" : "input");
}

export function parseCommand(c: ParseCommand): CommandResult {
  const doc = parseAs(readInput(c.file), c.as);
  if (c.output === "text") return ok(summarizeParsed(doc));
  const output: ParseOutput = {
    schemaVersion: PARSE_SCHEMA_VERSION,
    kind: doc.kind,
    input: c.file,
    unconsumedLineCount: doc.kind === "ovsdb-database" ? 0 : doc.unconsumed.length,
    document: doc,
  };
  return ok(renderDocument(output, c.output));
}
