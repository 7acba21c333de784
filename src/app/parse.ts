import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";
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

/** The bytes of a file or of standard input ("-"), or an InputError saying why not. */
export function readInput(file: string): Uint8Array {
  try {
    return readFileSync(file === "-" ? 0 : file);
  } catch (e) {
    throw new InputError(
      `cannot read ${file === "-" ? "standard input" : file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
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
