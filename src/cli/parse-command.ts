import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { PARSE_SCHEMA_VERSION, type ParsedKind, type ParseOutput } from "../model/parsed.js";
import { PARSED_KINDS, parseAs } from "../parsers/registry.js";
import { summarizeParsed } from "../render/parsed-text.js";

function readInput(file: string): Uint8Array {
  try {
    return readFileSync(file === "-" ? 0 : file);
  } catch (e) {
    throw new InputError(
      `cannot read ${file === "-" ? "standard input" : file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

export function registerParseCommand(program: Command): void {
  program
    .command("parse")
    .description(
      "turn an OVS/OVN output (ofproto/trace, ovn-trace, dump-flows, dump-groups, dump-tlv-map, lflow-list, an OVSDB file) into JSON",
    )
    .argument("[FILE]", "the output to read, - for standard input", "-")
    .option(
      "--as <KIND>",
      `the kind of output, detected from the content if absent: ${PARSED_KINDS.join(", ")}`,
    )
    .option("-o, --output <FORMAT>", "json | text", "json")
    .action((file: string, o: { as?: string; output: string }) => {
      if (o.output !== "json" && o.output !== "text")
        throw new InputError(`-o must be json or text, not "${o.output}"`);
      if (o.as !== undefined && !PARSED_KINDS.includes(o.as as ParsedKind)) {
        throw new InputError(`--as must be one of ${PARSED_KINDS.join(", ")}, not "${o.as}"`);
      }
      if (file === "-" && process.stdin.isTTY)
        throw new InputError("give a FILE, or pipe the output into standard input");
      const doc = parseAs(readInput(file), o.as as ParsedKind | undefined);
      if (o.output === "text") {
        process.stdout.write(`${summarizeParsed(doc)}\n`);
        return;
      }
      const output: ParseOutput = {
        schemaVersion: PARSE_SCHEMA_VERSION,
        kind: doc.kind,
        input: file,
        unconsumedLineCount: doc.kind === "ovsdb-database" ? 0 : doc.unconsumed.length,
        document: doc,
      };
      process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    });
}
