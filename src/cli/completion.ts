import { Argument, type Command } from "commander";
import { InputError } from "../errors.js";
import { PARSED_KINDS } from "../model/parsed.js";
import type { Run } from "./io.js";

/**
 * `ovnkube-trace completion bash|zsh|fish`: a shell script that completes the subcommands and the flags of
 * this very program (read from its commander tree, so it never lags behind a new flag), and the values of
 * the flags that take a fixed set. Commander has none built in.
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** The names the completions attach to: the program, and its kubectl plugin name (`kubectl ovnkube-trace`). */
const PROGRAMS = ["ovnkube-trace", "kubectl-ovnkube_trace"];

/**
 * The flags that take one of a fixed set of values. `--output`'s differ by command (the trace and explain also
 * draw html): each command's are read from the start of its help ("text | json | yaml | html ...").
 */
const FLAG_VALUES: Readonly<Record<string, readonly string[]>> = {
  "--output": ["text", "json", "yaml"],
  "--format": ["decoded", "detrace"],
  "--shape": ["central", "interconnect"],
  "--addr-family": ["ip4", "ip6"],
  "--as": PARSED_KINDS,
};

interface FlagInfo {
  readonly long?: string;
  readonly short?: string;
  readonly description: string;
  readonly takesValue: boolean;
}

/** One command of the tree: its path ("" for the program, "lab up"), what may follow it. */
interface CommandInfo {
  readonly path: string;
  readonly subcommands: readonly { readonly name: string; readonly description: string }[];
  /** The values its first argument takes, when it takes a fixed set (`completion SHELL`). */
  readonly argumentChoices: readonly string[];
  readonly flags: readonly FlagInfo[];
}

const isHidden = (c: Command): boolean => (c as unknown as { _hidden?: boolean })._hidden === true;

function commandsOf(program: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const walk = (c: Command, path: string): void => {
    const subs = c.commands.filter((s) => !isHidden(s));
    out.push({
      path,
      subcommands: subs.map((s) => ({ name: s.name(), description: s.description() })),
      argumentChoices: c.registeredArguments[0]?.argChoices ?? [],
      flags: [
        ...c.options
          .filter((o) => !o.hidden)
          .map((o) => ({
            ...(o.long === undefined ? {} : { long: o.long }),
            ...(o.short === undefined ? {} : { short: o.short }),
            description: o.description,
            takesValue: o.required || o.optional,
          })),
        { long: "--help", short: "-h", description: "display help", takesValue: false },
      ],
    });
    for (const s of subs) walk(s, path === "" ? s.name() : `${path} ${s.name()}`);
  };
  walk(program, "");
  return out;
}

const longs = (c: CommandInfo): string[] => c.flags.flatMap((f) => (f.long === undefined ? [] : [f.long]));
const shorts = (c: CommandInfo): string[] => c.flags.flatMap((f) => (f.short === undefined ? [] : [f.short]));
/** The words that complete a command's non-flag position: its subcommands, or its argument's choices. */
const words = (c: CommandInfo): string[] => [...c.subcommands.map((s) => s.name), ...c.argumentChoices];

/** The values a flag of a command takes, when a fixed set. */
function valuesOf(f: FlagInfo): readonly string[] | undefined {
  if (f.long === undefined) return undefined;
  if (f.long === "--output") {
    const listed = /^\w+(?: \| \w+)+/.exec(f.description)?.[0];
    if (listed !== undefined) return listed.split(" | ");
  }
  return FLAG_VALUES[f.long];
}

/** Every spelling of a command's flags that take a fixed set of values, with those values. */
function valueFlags(c: CommandInfo): [string[], readonly string[]][] {
  return c.flags.flatMap((f) => {
    const values = valuesOf(f);
    if (values === undefined || f.long === undefined) return [];
    return [[[f.long, f.long.slice(1), ...(f.short === undefined ? [] : [f.short])], values]];
  });
}

/** `"<command path>:<flag>"` patterns of every value flag of every command, with their values. */
const valueCases = (commands: readonly CommandInfo[]): [string[], readonly string[]][] =>
  commands.flatMap((c) =>
    valueFlags(c).map(([flags, values]): [string[], readonly string[]] => [
      flags.map((f) => `"${c.path}:${f}"`),
      values,
    ]),
  );

function bash(commands: readonly CommandInfo[]): string {
  const paths = commands.filter((c) => c.path !== "").map((c) => `"${c.path}"`);
  return `# bash completion for ovnkube-trace: source <(ovnkube-trace completion bash)
_ovnkube_trace() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    case "\${cmd:+$cmd }$w" in
      ${paths.join("|")}) cmd="\${cmd:+$cmd }$w" ;;
    esac
  done
  case "$cmd:$prev" in
${valueCases(commands)
  .map(
    ([flags, values]) =>
      `    ${flags.join("|")}) COMPREPLY=($(compgen -W "${values.join(" ")}" -- "$cur")); return ;;`,
  )
  .join("\n")}
  esac
  local words="" flags="" shorts=""
  case "$cmd" in
${commands
  .map(
    (c) =>
      `    "${c.path}") words="${words(c).join(" ")}"; flags="${longs(c).join(" ")}"; shorts="${shorts(c).join(" ")}" ;;`,
  )
  .join("\n")}
  esac
  case "$cur" in
    --*) COMPREPLY=($(compgen -W "$flags" -- "$cur")) ;;
    -) COMPREPLY=($(compgen -W "$flags $shorts" -- "$cur")) ;;
    -*) COMPREPLY=($(compgen -W "\${flags//--/-} $shorts" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
  esac
}
complete -o default -F _ovnkube_trace ${PROGRAMS.join(" ")}
`;
}

function zsh(commands: readonly CommandInfo[]): string {
  const paths = commands.filter((c) => c.path !== "").map((c) => `"${c.path}"`);
  return `#compdef ${PROGRAMS.join(" ")}
# zsh completion for ovnkube-trace: source <(ovnkube-trace completion zsh)
_ovnkube_trace() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmd="" w i
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    [[ "$w" == -* ]] && continue
    case "\${cmd:+$cmd }$w" in
      (${paths.join("|")}) cmd="\${cmd:+$cmd }$w" ;;
    esac
  done
  case "$cmd:$prev" in
${valueCases(commands)
  .map(([flags, values]) => `    (${flags.join("|")}) compadd -- ${values.join(" ")}; return ;;`)
  .join("\n")}
  esac
  local -a subs flags shorts
  case "$cmd" in
${commands
  .map(
    (c) =>
      `    ("${c.path}") subs=(${words(c).join(" ")}); flags=(${longs(c).join(" ")}); shorts=(${shorts(c).join(" ")}) ;;`,
  )
  .join("\n")}
  esac
  case "$cur" in
    (--*) compadd -- $flags ;;
    (-) compadd -- $flags $shorts ;;
    (-*) compadd -- \${flags/#--/-} $shorts ;;
    (*) if (( \${#subs} )); then compadd -- $subs; else _files; fi ;;
  esac
}
if [[ "\${funcstack[1]}" == "_ovnkube-trace" ]]; then
  _ovnkube_trace "$@"
else
  compdef _ovnkube_trace ${PROGRAMS.join(" ")}
fi
`;
}

/** A fish single-quoted string. */
const fishQuote = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fish(commands: readonly CommandInfo[]): string {
  const paths = commands.filter((c) => c.path !== "").map((c) => fishQuote(c.path));
  const lines = [
    "# fish completion for ovnkube-trace: ovnkube-trace completion fish | source",
    "# true when the words before the cursor name this command path ('' for the program itself)",
    "function __ovnkube_trace_at",
    "    set -l cmd ''",
    "    for w in (commandline -opc)[2..-1]",
    "        string match -q -- '-*' $w; and continue",
    '        set -l next (string trim -- "$cmd $w")',
    `        contains -- $next ${paths.join(" ")}; and set cmd $next`,
    "    end",
    '    test "$cmd" = "$argv[1]"',
    "end",
  ];
  for (const program of PROGRAMS) {
    for (const c of commands) {
      const when = `-n ${fishQuote(`__ovnkube_trace_at ${fishQuote(c.path)}`)}`;
      const head = `complete -c ${program} ${when}`;
      for (const s of c.subcommands)
        lines.push(
          `${head} -f -a ${fishQuote(s.name)} -d ${fishQuote(s.description.split(/[:;(]/)[0]?.trim() ?? "")}`,
        );
      if (c.argumentChoices.length > 0) lines.push(`${head} -f -a ${fishQuote(c.argumentChoices.join(" "))}`);
      for (const f of c.flags) {
        const values = valuesOf(f);
        lines.push(
          [
            head,
            ...(f.long === undefined ? [] : [`-l ${f.long.slice(2)}`]),
            ...(f.short === undefined ? [] : [`-s ${f.short.slice(1)}`]),
            ...(values === undefined
              ? f.takesValue
                ? ["-r"]
                : []
              : ["-x", `-a ${fishQuote(values.join(" "))}`]),
            `-d ${fishQuote(f.description.split(/[:;(]/)[0]?.trim() ?? "")}`,
          ].join(" "),
        );
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

export function completionScript(shell: string, program: Command): string {
  const commands = commandsOf(program);
  switch (shell) {
    case "bash":
      return bash(commands);
    case "zsh":
      return zsh(commands);
    case "fish":
      return fish(commands);
    default:
      throw new InputError(`completion is for bash, zsh or fish, not "${shell}"`);
  }
}

export function registerCompletionCommand(program: Command, run: Run): void {
  program
    .command("completion")
    .description("print a shell completion script (subcommands and flags): bash, zsh or fish")
    .addArgument(new Argument("<SHELL>", "bash | zsh | fish").choices(SHELLS))
    .addHelpText(
      "after",
      "\nbash:  source <(ovnkube-trace completion bash)     (or into /etc/bash_completion.d/ovnkube-trace)\n" +
        "zsh:   source <(ovnkube-trace completion zsh)      (or as _ovnkube-trace in a directory of $fpath)\n" +
        "fish:  ovnkube-trace completion fish | source     (or into ~/.config/fish/completions/ovnkube-trace.fish)",
    )
    .action(async (shell: string) => {
      await run({ output: completionScript(shell, program) });
    });
}
