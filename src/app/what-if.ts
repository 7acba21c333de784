import { stringify } from "yaml";
import { LabBackend } from "../backends/lab/backend.js";
import { cellName, computeMatrix } from "../engine/matrix.js";
import { parseNamespaces, parsePorts, portLabel } from "../engine/matrix-select.js";
import { InputError, LabStateError } from "../errors.js";
import type { LabCluster } from "../lab/cluster.js";
import { deadDaemons, readLabState, setLabNetworkPolicies, type LabState } from "../lab/lab.js";
import { findPod } from "../lab/probe.js";
import { policyManifest, proposeAllow, readPolicyFile, withPolicy, type Proposal } from "../lab/what-if.js";
import type { MatrixCell, MatrixPort, MatrixVerdictKind, ReachabilityMatrix } from "../model/matrix.js";
import { onInterrupt } from "../ovs/interrupt.js";
import type { CommandIO, CommandResult, OutputFormat } from "./command.js";
import { labDirOf } from "./open-backend.js";

/** `ovnkube-trace what-if`: a NetworkPolicy change tried on the lab, with the cells it flips. */
export interface WhatIfCommand {
  readonly lab: string | true;
  /** `--allow SRC_NS/POD DST_NS/POD`: propose the change that allows it (on the first `--port`). */
  readonly allow?: { readonly src: string; readonly dst: string };
  /** `--policy FILE`: a NetworkPolicy to try as given. */
  readonly policyFile?: string;
  /** Namespaces of the before/after matrix (default: those the change concerns). */
  readonly namespaces: readonly string[];
  readonly ports: readonly string[];
  /** Leave the change applied to the lab. */
  readonly keep: boolean;
  readonly parallel?: number;
  readonly output: OutputFormat;
}

/** A cell whose verdict the change flips. */
export interface FlippedCell {
  readonly cell: string;
  readonly before: MatrixVerdictKind;
  readonly after: MatrixVerdictKind;
  readonly explanation: string;
}

export interface WhatIfResult {
  readonly kind: "WhatIf";
  readonly lab: string;
  /** The cell asked for (`--allow`), its verdict before and after. */
  readonly cell?: {
    readonly name: string;
    readonly before: MatrixVerdictKind;
    readonly after: MatrixVerdictKind;
  };
  /** The changes proposed (`--allow`; two when both the sender's egress and the receiver's ingress drop it). */
  readonly proposals: readonly (Omit<Proposal, "policy"> & { readonly manifest: string })[];
  /** Every policy applied, as a manifest. */
  readonly applied: readonly string[];
  readonly namespaces: readonly string[];
  readonly ports: readonly string[];
  readonly cells: number;
  /** Every cell of the matrix whose verdict differs after the change (the asked one included). */
  readonly flipped: readonly FlippedCell[];
  /** Whether the lab keeps the change (`--keep`); else it was restored. */
  readonly kept: boolean;
}

function podRef(text: string, flag: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = text.split("/");
  if (namespace === undefined || name === undefined || namespace === "" || name === "" || rest.length > 0)
    throw new InputError(`${flag}: "${text}" is not NAMESPACE/POD`);
  return { namespace, name };
}

/** A matrix of pods to pods of some namespaces on the lab as it is now (a fresh backend: new kubernetes.json, SB). */
export async function labMatrix(
  state: LabState,
  namespaces: readonly string[],
  ports: readonly MatrixPort[],
  parallel?: number,
): Promise<ReachabilityMatrix> {
  const backend = new LabBackend(state, "always");
  try {
    return await computeMatrix(backend, {
      from: { namespaces, selector: "" },
      to: { namespaces, selector: "", services: false },
      ports,
      family: 4,
      ...(parallel === undefined ? {} : { parallel }),
    });
  } finally {
    await backend.close();
  }
}

const key = (m: ReachabilityMatrix, c: MatrixCell): string => cellName(m, c);

/** The cells whose verdict differs between two matrices of the same pods and ports. */
export function flippedCells(before: ReachabilityMatrix, after: ReachabilityMatrix): FlippedCell[] {
  const was = new Map(before.cells.map((c) => [key(before, c), c.verdict]));
  return after.cells.flatMap((c): FlippedCell[] => {
    const k = key(after, c);
    const b = was.get(k);
    return b === undefined || b === c.verdict
      ? []
      : [{ cell: k, before: b, after: c.verdict, explanation: c.explanation }];
  });
}

/**
 * Namespaces a policy given as a file concerns: every namespace with pods. A policy that isolates its pods changes
 * what reaches them from any namespace (ingress) and what they reach in any (egress).
 */
const podNamespaces = (c: LabCluster): string[] => [
  ...new Set(c.pods.filter((p) => !p.hostNetwork).map((p) => p.namespace)),
];

const findCell = (m: ReachabilityMatrix, name: string): MatrixCell | undefined =>
  m.cells.find((c) => key(m, c) === name);

export async function whatIf(c: WhatIfCommand, io: CommandIO): Promise<WhatIfResult> {
  if ((c.allow === undefined) === (c.policyFile === undefined))
    throw new InputError("give --allow SRC_NS/POD DST_NS/POD or --policy FILE (one of them)");
  const ports = parsePorts(c.ports);
  const dir = labDirOf(c.lab);
  const state = readLabState(dir);
  if (state?.phase !== "up" || deadDaemons(state).length > 0)
    throw new LabStateError(`no lab is running in ${dir}`, { hint: "start one with: ovnkube-trace lab up" });
  const original = state.cluster.networkPolicies;
  const src = c.allow && podRef(c.allow.src, "--allow");
  const dst = c.allow && podRef(c.allow.dst, "--allow");
  const given = c.policyFile === undefined ? undefined : readPolicyFile(c.policyFile);
  const asked = parseNamespaces(c.namespaces, "--namespaces");
  const namespaces =
    asked.length > 0
      ? asked
      : src !== undefined && dst !== undefined
        ? [...new Set([src.namespace, dst.namespace])]
        : given === undefined
          ? []
          : podNamespaces(state.cluster);
  const first = ports[0];
  if (first === undefined) throw new InputError("give at least one --port (tcp/80, udp/53, icmp)");
  const run = (s: LabState, what: string): Promise<ReachabilityMatrix> => {
    io.progress(`what-if: the matrix ${what}`);
    return labMatrix(s, namespaces, ports, c.parallel);
  };
  const before = await run(state, "before");
  const wanted =
    src && dst
      ? `${src.namespace}/${src.name} → ${dst.namespace}/${dst.name} ${portLabel(first)}`
      : undefined;
  const asIs = wanted === undefined ? undefined : findCell(before, wanted);
  if (wanted !== undefined && asIs === undefined)
    throw new InputError(`${wanted} is not a cell of the matrix (a host-network pod, or not in the lab?)`);
  const proposals: Proposal[] = [];
  let current = state;
  let policies = [...original];
  let after = before;
  const restore = onInterrupt(() => setLabNetworkPolicies(current, original));
  try {
    if (given !== undefined) {
      policies = withPolicy(policies, given);
      current = await setLabNetworkPolicies(current, policies);
      after = await run(current, "after");
    } else if (src && dst && wanted !== undefined) {
      const s = findPod(state.cluster, src.namespace, src.name);
      const d = findPod(state.cluster, dst.namespace, dst.name);
      // the sender's egress drops first: once allowed, the receiver's ingress may drop it too
      for (let i = 0; i < 2; i++) {
        const cell = findCell(after, wanted);
        if (cell?.verdict === "allowed") break;
        if (cell?.verdict !== "dropped" || cell.direction === undefined)
          throw new InputError(
            `${wanted} is ${cell?.verdict ?? "not traced"}, not dropped by a NetworkPolicy: ${cell?.explanation ?? ""}`,
          );
        const p = proposeAllow(current.cluster, s, d, first, cell.direction);
        proposals.push(p);
        policies = withPolicy(policies, p.policy);
        current = await setLabNetworkPolicies(current, policies);
        after = await run(current, "after");
      }
    }
  } catch (e) {
    if (current !== state) await setLabNetworkPolicies(current, original);
    restore.done();
    throw e;
  }
  if (!c.keep && current !== state) {
    io.progress("what-if: restoring the lab's policies");
    await setLabNetworkPolicies(current, original);
  }
  restore.done();
  const appliedNames = new Set(
    [...proposals.map((p) => p.policy), ...(given ? [given] : [])].map((p) => `${p.namespace}/${p.name}`),
  );
  const cellAfter = wanted === undefined ? undefined : findCell(after, wanted);
  return {
    kind: "WhatIf",
    lab: dir,
    ...(wanted !== undefined && asIs !== undefined && cellAfter !== undefined
      ? { cell: { name: wanted, before: asIs.verdict, after: cellAfter.verdict } }
      : {}),
    proposals: proposals.map(({ policy, ...p }) => ({ ...p, manifest: policyManifest(policy) })),
    applied: policies.filter((p) => appliedNames.has(`${p.namespace}/${p.name}`)).map(policyManifest),
    namespaces,
    ports: ports.map(portLabel),
    cells: after.cells.length,
    flipped: flippedCells(before, after),
    kept: c.keep && current !== state,
  };
}

export function renderWhatIf(r: WhatIfResult): string {
  const lines: string[] = [];
  if (r.cell !== undefined && r.proposals.length === 0)
    lines.push(`${r.cell.name}: already ${r.cell.before}; nothing to change.`);
  for (const p of r.proposals) {
    lines.push(
      `# ${p.changes === undefined ? "a new policy" : `${p.changes}: one more ${p.direction} rule`} (kubectl apply -f -)`,
      ...p.notes.map((n) => `# note: ${n}`),
      p.manifest.trimEnd(),
      "---",
    );
  }
  if (r.proposals.length === 0) for (const m of r.applied) lines.push("# applied", m.trimEnd(), "---");
  if (r.cell !== undefined && r.proposals.length > 0)
    lines.push(`proof on the lab: ${r.cell.name}: ${r.cell.before} → ${r.cell.after}`);
  const side = r.flipped.filter((f) => f.cell !== r.cell?.name);
  lines.push(
    `matrix of ${r.namespaces.join(",")} on ${r.ports.join(",")} (${String(r.cells)} cells) before and after: ${String(r.flipped.length)} flip${r.flipped.length === 1 ? "" : "s"}${r.cell === undefined ? "" : `, ${String(side.length)} besides the one asked`}`,
    ...r.flipped.map((f) => `  ${f.cell}: ${f.before} → ${f.after}`),
    r.kept ? "the lab keeps the change (--keep)" : "the lab's policies are restored",
  );
  return `${lines.join("\n")}\n`;
}

export async function whatIfCommand(c: WhatIfCommand, io: CommandIO): Promise<CommandResult> {
  const r = await whatIf(c, io);
  return {
    output:
      c.output === "text"
        ? renderWhatIf(r)
        : c.output === "json"
          ? `${JSON.stringify(r, null, 2)}\n`
          : stringify(r),
  };
}
