import { stringify } from "yaml";
import { LabBackend } from "../backends/lab/backend.js";
import { cellName, computeMatrix } from "../engine/matrix.js";
import { resolveTarget } from "../engine/resolve.js";
import { parseNamespaces, parsePorts, portLabel } from "../engine/matrix-select.js";
import { InputError, LabStateError } from "../errors.js";
import type { ClusterBackend } from "../cluster/backend.js";
import type { LabCluster } from "../lab/cluster.js";
import { deadDaemons, readLabState, setLabNetworkPolicies, type LabState } from "../lab/lab.js";
import type { PolicyCluster, PolicyPod } from "../lab/network-policy.js";
import type { NetworkPolicySpec } from "../lab/scenario.js";
import { policyManifest, proposeAllow, readPolicyFile, withPolicy, type Proposal } from "../lab/what-if.js";
import type { MatrixCell, MatrixPort, MatrixVerdictKind, ReachabilityMatrix } from "../model/matrix.js";
import { onInterrupt } from "../ovs/interrupt.js";
import type { CommandIO, CommandResult, OutputFormat } from "./command.js";
import { labDirOf } from "./open-backend.js";

/** `ovnkube-trace what-if`: a NetworkPolicy change tried on the lab or a snapshot's replica, with the cells it flips. */
export interface WhatIfCommand {
  /** The lab: its directory, or true for the default one (the default when no snapshot is given). */
  readonly lab?: string | true;
  /** A snapshot's directory: the change is tried on a what-if replica of it (the snapshot is never changed). */
  readonly snapshot?: string;
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
  /** Where the change was tried: the lab, or a what-if replica of a snapshot. */
  readonly source: "lab" | "snapshot";
  readonly lab?: string;
  readonly snapshot?: string;
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
  /** Whether the lab keeps the change (`--keep`); else it was restored (a snapshot is never changed). */
  readonly kept: boolean;
  /** What the verdicts rest on, where that is less than the lab's (a replica: logical verdicts only). */
  readonly notes?: readonly string[];
}

function podRef(text: string, flag: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = text.split("/");
  if (namespace === undefined || name === undefined || namespace === "" || name === "" || rest.length > 0)
    throw new InputError(`${flag}: "${text}" is not NAMESPACE/POD`);
  return { namespace, name };
}

/** `--allow`'s destination: NAMESPACE/POD, or svc:NAMESPACE/NAME for a Service (its backends). */
function destinationRef(text: string): WhatIfDestination {
  if (!text.startsWith("svc:")) return { kind: "pod", ...podRef(text, "--allow") };
  const [namespace, name, ...rest] = text.slice(4).split("/");
  if (namespace === undefined || name === undefined || namespace === "" || name === "" || rest.length > 0)
    throw new InputError(`--allow: "${text}" is not svc:NAMESPACE/SERVICE`);
  return { kind: "service", namespace, name };
}

/** A matrix of pods to pods of some namespaces on a backend, which it closes. */
export async function whatIfMatrix(
  backend: ClusterBackend,
  namespaces: readonly string[],
  ports: readonly MatrixPort[],
  services: boolean,
  parallel?: number,
): Promise<ReachabilityMatrix> {
  try {
    return await computeMatrix(backend, {
      from: { namespaces, selector: "" },
      to: { namespaces, selector: "", services },
      ports,
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
const podNamespaces = (c: PolicyCluster): string[] => [
  ...new Set(c.pods.filter((p) => !p.hostNetwork).map((p) => p.namespace)),
];

const findCell = (m: ReachabilityMatrix, name: string): MatrixCell | undefined =>
  m.cells.find((c) => key(m, c) === name);

/** Where a what-if tries its change: the lab, or a snapshot's what-if replica. */
export interface WhatIfTarget {
  /** The cluster as it is now (with the changes applied so far): what proposals read. */
  readonly cluster: PolicyCluster;
  /** Where it runs, in words ("the lab"). */
  readonly where: string;
  /** Why a proposal for a pod of `namespace` cannot be made here (a policy there cannot be read), if it cannot. */
  cannotPropose?(namespace: string): string | undefined;
  /** The cluster as it is now, for one matrix or lookup (the caller closes it). */
  backend(what: string): ClusterBackend;
  /** Applies `np` as kubectl apply would (replacing a policy of the same name). */
  apply(np: NetworkPolicySpec): Promise<void>;
}

/** What a what-if found, wherever it ran. */
type WhatIfOutcome = Omit<WhatIfResult, "kind" | "source" | "lab" | "snapshot" | "kept" | "notes">;

export interface WhatIfDestination {
  readonly kind: "pod" | "service";
  readonly namespace: string;
  readonly name: string;
}

/** `--allow` or `--policy`, checked before anything starts. */
export interface WhatIfRequest {
  readonly src?: { namespace: string; name: string };
  readonly dst?: WhatIfDestination;
  readonly given?: NetworkPolicySpec;
  readonly ports: readonly MatrixPort[];
}

export function whatIfRequest(c: WhatIfCommand): WhatIfRequest {
  if ((c.allow === undefined) === (c.policyFile === undefined))
    throw new InputError("give --allow SRC_NS/POD DST_NS/POD or --policy FILE (one of them)");
  const ports = parsePorts(c.ports);
  if (ports.length === 0) throw new InputError("give at least one --port (tcp/80, udp/53, icmp)");
  return {
    ...(c.allow === undefined
      ? {}
      : { src: podRef(c.allow.src, "--allow"), dst: destinationRef(c.allow.dst) }),
    ...(c.policyFile === undefined ? {} : { given: readPolicyFile(c.policyFile) }),
    ports,
  };
}

const findPolicyPod = (c: PolicyCluster, namespace: string, name: string, where: string): PolicyPod => {
  const p = c.pods.find((x) => x.namespace === namespace && x.name === name && !x.hostNetwork);
  if (p === undefined)
    throw new InputError(
      `pod ${namespace}/${name} is not ${where} (or it is a host-network pod, or not wired)`,
    );
  return p;
};

/**
 * The matrix before, the change (the policy given, or the proposals that let the asked cell through: the sender's
 * egress drops first, then once allowed the receiver's ingress may drop it too), and the matrix after.
 */
export async function runWhatIf(
  t: WhatIfTarget,
  r: WhatIfRequest,
  asked: readonly string[],
  io: CommandIO,
  parallel?: number,
): Promise<WhatIfOutcome> {
  const { src, dst, given, ports } = r;
  const first = ports[0];
  if (first === undefined) throw new InputError("give at least one --port (tcp/80, udp/53, icmp)");
  const namespaces =
    asked.length > 0
      ? asked
      : src !== undefined && dst !== undefined
        ? [...new Set([src.namespace, dst.namespace])]
        : podNamespaces(t.cluster);
  const services = dst?.kind === "service";
  const matrix = (what: string): Promise<ReachabilityMatrix> => {
    io.progress(`what-if: the matrix ${what} on ${t.where}`);
    return whatIfMatrix(t.backend(what), namespaces, ports, services, parallel);
  };
  const before = await matrix("before");
  const wanted =
    src && dst
      ? `${src.namespace}/${src.name} → ${services ? "service " : ""}${dst.namespace}/${dst.name} ${portLabel(first)}`
      : undefined;
  const asIs = wanted === undefined ? undefined : findCell(before, wanted);
  if (wanted !== undefined && asIs === undefined)
    throw new InputError(`${wanted} is not a cell of the matrix (a host-network pod, or not in ${t.where}?)`);
  const proposals: Proposal[] = [];
  const applied: NetworkPolicySpec[] = [];
  let after = before;
  if (given !== undefined) {
    await t.apply(given);
    applied.push(given);
    after = await matrix("after");
  } else if (src && dst && wanted !== undefined) {
    // the sender's egress drops first: once allowed, the receiver's ingress may drop it too (each backend's)
    for (let i = 0; i < 2 * (asIs?.backends?.length ?? 1); i++) {
      const cell = findCell(after, wanted);
      if (cell?.verdict === "allowed") break;
      const backend = cell?.backends?.find((b) => b.verdict === "dropped");
      const drop = backend ?? cell;
      if (drop?.verdict !== "dropped" || drop.direction === undefined)
        throw new InputError(
          `${wanted} is ${cell?.verdict ?? "not traced"}, not dropped by a NetworkPolicy: ${cell?.explanation ?? ""}`,
        );
      const to = services
        ? await serviceBackend(t, src, dst, first, backend?.pod)
        : { pod: dst, port: first };
      const owner = drop.direction === "ingress" ? to.pod : src;
      const refused = t.cannotPropose?.(owner.namespace);
      if (refused !== undefined) throw new InputError(refused);
      const p = proposeAllow(
        t.cluster,
        findPolicyPod(t.cluster, src.namespace, src.name, `in ${t.where}`),
        findPolicyPod(t.cluster, to.pod.namespace, to.pod.name, `in ${t.where}`),
        to.port,
        drop.direction,
      );
      proposals.push(p);
      await t.apply(p.policy);
      applied.push(p.policy);
      after = await matrix("after");
    }
  }
  const appliedNames = new Set(applied.map((p) => `${p.namespace}/${p.name}`));
  const cellAfter = wanted === undefined ? undefined : findCell(after, wanted);
  return {
    ...(wanted !== undefined && asIs !== undefined && cellAfter !== undefined
      ? { cell: { name: wanted, before: asIs.verdict, after: cellAfter.verdict } }
      : {}),
    proposals: proposals.map(({ policy, ...p }) => ({ ...p, manifest: policyManifest(policy) })),
    applied: t.cluster.networkPolicies
      .filter((p) => appliedNames.has(`${p.namespace}/${p.name}`))
      .map(policyManifest),
    namespaces,
    ports: ports.map(portLabel),
    cells: after.cells.length,
    flipped: flippedCells(before, after),
  };
}

/**
 * The backend of a Service whose drop a proposal is for, and the port the packet reaches it on (the Service's
 * target port, resolved as a trace resolves it: a named port through the EndpointSlices).
 */
async function serviceBackend(
  t: WhatIfTarget,
  src: { namespace: string; name: string },
  svc: WhatIfDestination,
  port: MatrixPort,
  pod: { readonly namespace: string; readonly name: string } | undefined,
): Promise<{ pod: { namespace: string; name: string }; port: MatrixPort }> {
  if (pod === undefined) throw new InputError(`service ${svc.namespace}/${svc.name}: no backend drops it`);
  const b = t.backend("to resolve the Service");
  try {
    const r = await resolveTarget(b, {
      src,
      dst: { kind: "service", namespace: svc.namespace, name: svc.name },
      protocol: port.protocol,
      dstPort: port.protocol === "icmp" ? 0 : port.port,
    });
    const targetPort = r.dst.kind === "service" ? r.dst.targetPort : port.port;
    return {
      pod: { namespace: pod.namespace, name: pod.name },
      port: { ...port, port: targetPort },
    };
  } finally {
    await b.close();
  }
}

/** The lab as a what-if target: each change written into its NBs and kubernetes.json (setLabNetworkPolicies). */
class LabTarget implements WhatIfTarget {
  readonly where = "the lab";
  constructor(public state: LabState) {}

  get cluster(): LabCluster {
    return this.state.cluster;
  }

  backend(): ClusterBackend {
    return new LabBackend(this.state, "always");
  }

  async apply(np: NetworkPolicySpec): Promise<void> {
    this.state = await setLabNetworkPolicies(this.state, withPolicy(this.state.cluster.networkPolicies, np));
  }
}

export async function whatIf(c: WhatIfCommand, io: CommandIO): Promise<WhatIfResult> {
  if (c.snapshot !== undefined) {
    if (c.lab !== undefined) throw new InputError("give --lab or --snapshot, not both");
    const { whatIfOnSnapshot } = await import("./what-if-snapshot.js");
    return whatIfOnSnapshot(c, c.snapshot, io);
  }
  const request = whatIfRequest(c);
  const dir = labDirOf(c.lab ?? true);
  const state = readLabState(dir);
  if (state?.phase !== "up" || deadDaemons(state).length > 0)
    throw new LabStateError(`no lab is running in ${dir}`, { hint: "start one with: ovnkube-trace lab up" });
  const original = state.cluster.networkPolicies;
  const asked = parseNamespaces(c.namespaces, "--namespaces");
  const t = new LabTarget(state);
  const restore = onInterrupt(() => setLabNetworkPolicies(t.state, original));
  let outcome: WhatIfOutcome;
  try {
    outcome = await runWhatIf(t, request, asked, io, c.parallel);
  } catch (e) {
    if (t.state !== state) await setLabNetworkPolicies(t.state, original);
    restore.done();
    throw e;
  }
  if (!c.keep && t.state !== state) {
    io.progress("what-if: restoring the lab's policies");
    await setLabNetworkPolicies(t.state, original);
  }
  restore.done();
  return {
    kind: "WhatIf",
    source: "lab",
    lab: dir,
    ...outcome,
    kept: c.keep && t.state !== state,
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
  const where = r.source === "lab" ? "the lab" : "the snapshot's what-if replica";
  if (r.cell !== undefined && r.proposals.length > 0)
    lines.push(`proof on ${where}: ${r.cell.name}: ${r.cell.before} → ${r.cell.after}`);
  const side = r.flipped.filter((f) => f.cell !== r.cell?.name);
  lines.push(
    `matrix of ${r.namespaces.join(",")} on ${r.ports.join(",")} (${String(r.cells)} cells) before and after: ${String(r.flipped.length)} flip${r.flipped.length === 1 ? "" : "s"}${r.cell === undefined ? "" : `, ${String(side.length)} besides the one asked`}`,
    ...r.flipped.map((f) => `  ${f.cell}: ${f.before} → ${f.after}`),
    r.source === "snapshot"
      ? "the snapshot is unchanged (the what-if replica is removed)"
      : r.kept
        ? "the lab keeps the change (--keep)"
        : "the lab's policies are restored",
    ...(r.notes ?? []).map((n) => `note: ${n}`),
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
