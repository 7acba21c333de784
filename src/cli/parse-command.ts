import type { Command } from "commander";
import { InputError } from "../errors.js";
import { outputFormat } from "./formats.js";
import type { Run } from "./io.js";
import { PARSED_KINDS, type ParsedKind } from "../model/parsed.js";

export function registerParseCommand(program: Command, run: Run): void {
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
    .option("-o, --output <FORMAT>", "json | yaml | text", "json")
    .action(async (file: string, o: { as?: string; output: string }) => {
      const output = outputFormat(o.output);
      if (o.as !== undefined && !PARSED_KINDS.includes(o.as as ParsedKind))
        throw new InputError(`--as must be one of ${PARSED_KINDS.join(", ")}, not "${o.as}"`);
      if (file === "-" && process.stdin.isTTY)
        throw new InputError("give a FILE, or pipe the output into standard input");
      const { parseCommand } = await import("../app/parse.js");
      await run(parseCommand({ file, ...(o.as === undefined ? {} : { as: o.as as ParsedKind }), output }));
    });
}
