import type { ClusterBackend } from "../cluster/backend.js";
import { ovnDatabases } from "../cluster/node-databases.js";
import { InputError, NotFoundError } from "../errors.js";
import { explainDrop } from "../explain/drop.js";
import { explainReject } from "../explain/reject.js";
import {
  MATRIX_SCHEMA_VERSION,
  type MatrixBackendOutcome,
  type MatrixCell,
  type MatrixDestination,
  type MatrixOpenFlowCheck,
  type MatrixOutcome,
  type MatrixPod,
  type MatrixPort,
  type MatrixSkipped,
  type MatrixVerdictKind,
  type PolicyDirection,
  type ReachabilityMatrix,
} from "../model/matrix.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type { Family, KubeObjectRef, TraceReport, Verdict } from "../model/report.js";
import type { Resolution, TraceTarget } from "../model/target.js";
import type { TracedHop } from "../model/traced-hop.js";
import { VERSION } from "../version.js";
import { logicalRequest } from "./direction.js";
import { traceLogical, type LogicalTraceContext } from "./logical-trace.js";
import {
  listSelectedPods,
  matrixFamily,
  matrixPods,
  matrixServices,
  parseSelector,
  portLabel,
} from "./matrix-select.js";
import { DEFAULT_SRC_PORT, planTraces, type DirectionPlan } from "./plan.js";
import { resolveTarget } from "./resolve.js";
import { runTraces } from "./trace.js";

/**
 * The reachability matrix: for each source pod, destination (pod or Service) and port, what OVN's logical
 * pipeline does with the first packet of a connection. Each cell is resolved and planned as a trace is
 * (resolve.ts, plan.ts: a Service's every backend, forced at its load balancer), and traced with ovn-trace alone
 * (logical-trace.ts: the source's zone, then through the transit switch the destination's), served by the
 * backend's ovn-trace daemons; its verdict is named in Kubernetes terms by the same explainers as a trace's (the
 * ACL's NetworkPolicy rule or default deny, the Service without endpoints). `openflow` also runs the full trace
 * (runTraces: ofproto/trace on every node) of each cell and says whether it agrees.
 */

/** What to compute: the ends chosen by namespaces and label selectors, and the ports. */
export interface MatrixSpec {
  readonly from: { readonly namespaces: readonly string[]; readonly selector: string };
  readonly to: {
    readonly namespaces: readonly string[];
    readonly selector: string;
    readonly services: boolean;
  };
  readonly ports: readonly MatrixPort[];
  /** The address family of every packet (default: the first source pod's first address). */
  readonly family?: Family;
  readonly srcPort?: number;
  /** Also run the full trace (ofproto/trace on every node) of each cell and compare. */
  readonly openflow?: boolean;
  /** Cells traced at the same time (default 8). */
  readonly parallel?: number;
  /** Called as cells complete. */
  readonly progress?: (done: number, total: number) => void;
}

const SELF: MatrixOutcome = {
  verdict: "self",
  explanation: "the pod itself: the packet never leaves its network namespace (not traced)",
  objects: [],
};

/** What one matrix run shares between its cells: the zones' databases (read once per zone), counts. */
interface MatrixRun {
  readonly b: ClusterBackend;
  readonly dbs: Map<string, Promise<OvnDatabases>>;
  readonly zoneOf: (node: string) => string | undefined;
  ovnTraces: number;
  fullTraces: number;
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Whose NetworkPolicy an ACL stage applies: to-lport ACLs (ls_out_acl*) the receiver's ingress, else the sender's egress. */
const directionOfStage = (stage: string): PolicyDirection | undefined =>
  stage.startsWith("ls_out_acl") ? "ingress" : stage.startsWith("ls_in_acl") ? "egress" : undefined;

type LogicalStep = Extract<TracedHop["hop"]["steps"][number], { kind: "logical-stage" }>;

function logicalStages(hops: readonly TracedHop[]): { node: string; step: LogicalStep }[] {
  return hops.flatMap((h) =>
    h.hop.steps.flatMap((s) => (s.kind === "logical-stage" ? [{ node: h.hop.node, step: s }] : [])),
  );
}

const refKey = (o: KubeObjectRef): string => `${o.kind}/${o.namespace ?? ""}/${o.name}`;

/** Each object once, in a stable order (kind, namespace, name): the databases' order differs between zones. */
function uniqueRefs(list: readonly KubeObjectRef[]): KubeObjectRef[] {
  const seen = new Map<string, KubeObjectRef>();
  for (const o of list) if (!seen.has(refKey(o))) seen.set(refKey(o), o);
  return [...seen.values()].sort((a, b) => refKey(a).localeCompare(refKey(b)));
}

/** The NetworkPolicy rules whose ACLs let the packet through, each with its direction. */
async function allowedBy(
  run: MatrixRun,
  hops: readonly TracedHop[],
  pods: { src?: string; dst?: string },
): Promise<{ text: string; objects: KubeObjectRef[]; direction: PolicyDirection }[]> {
  const out: { text: string; objects: KubeObjectRef[]; direction: PolicyDirection }[] = [];
  for (const { node, step } of logicalStages(hops)) {
    const direction = directionOfStage(step.stage);
    if (direction === undefined || step.uuid === undefined) continue;
    const e = explainDrop(await databasesOf(run, node), { lflowUuid: step.uuid }, pods);
    if (e?.acl === undefined || !e.acl.action.startsWith("allow") || e.objects.length === 0) continue;
    if (!out.some((x) => x.text === e.text)) out.push({ text: e.text, objects: [...e.objects], direction });
  }
  return out;
}

const databasesOf = (run: MatrixRun, node: string): Promise<OvnDatabases> =>
  ovnDatabases(run.b, run.dbs, node, run.zoneOf);

/**
 * What `f` names from the zone databases of `node`, or why they could not be read (a verdict stands without its
 * Kubernetes names).
 */
async function named<T>(
  run: MatrixRun,
  node: string,
  f: (dbs: OvnDatabases) => T | Promise<T>,
): Promise<T | string> {
  let dbs: OvnDatabases;
  try {
    dbs = await databasesOf(run, node);
  } catch (e) {
    return `could not read the OVN databases of ${node}: ${why(e)}`;
  }
  try {
    return await f(dbs);
  } catch (e) {
    return `could not read the OVN databases of a zone: ${why(e)}`;
  }
}

/** The verdict of one planned forward direction from its ovn-trace hops, named in Kubernetes terms. */
async function logicalOutcome(
  run: MatrixRun,
  r: Resolution,
  d: DirectionPlan,
  hops: readonly TracedHop[],
): Promise<MatrixOutcome> {
  const pods = { src: d.from.lsp, ...(d.expect.kind === "pod" ? { dst: d.expect.lsp } : {}) };
  // OVN answers the sender itself: a load balancer without endpoints, a reject ACL
  for (const { node, step } of logicalStages(hops)) {
    if (step.uuid === undefined || !step.actions.some((a) => /^reject\b/.test(a))) continue;
    const uuid = step.uuid;
    const e = await named(run, node, (dbs) =>
      explainReject(dbs, uuid, { ip: d.dstIp, port: d.dstPort }, r.protocol, node),
    );
    const said = `logical flow ${step.stage} (${step.match ?? ""}) rejects it`;
    return {
      verdict: "rejected",
      explanation: typeof e === "string" ? `${said} (${e})` : (e?.explanation ?? said),
      objects: typeof e === "string" ? [] : uniqueRefs(e?.objects ?? []),
      node,
      where: `${step.datapath} ${step.stage}${step.priority === undefined ? "" : ` priority ${String(step.priority)}`}`,
    };
  }
  const last = hops.at(-1);
  const o = last?.hop.outcome;
  if (last === undefined || o === undefined)
    return { verdict: "unknown", explanation: "no trace ran", objects: [] };
  const node = last.hop.node;
  if (o.kind === "output") {
    if (d.expect.kind === "pod" && o.port === d.expect.lsp) {
      const by = await named(run, node, () => allowedBy(run, hops, pods));
      if (typeof by === "string")
        return { verdict: "allowed", explanation: `allowed (${by}: the rules are not named)`, objects: [] };
      return by.length === 0
        ? {
            verdict: "allowed",
            explanation: `no NetworkPolicy isolates either pod${d.from.kind === "pod" && d.from.network !== undefined ? ` (both on user-defined network ${d.from.network.name})` : ""}`,
            objects: [],
          }
        : {
            verdict: "allowed",
            explanation: `allowed: ${by.map((x) => x.text).join("; ")}`,
            objects: uniqueRefs(by.flatMap((x) => x.objects)),
            ...(by.length === 1 && by[0] !== undefined ? { direction: by[0].direction } : {}),
          };
    }
    const wanted = d.expect.kind === "pod" ? `"${d.expect.lsp}"` : d.expect.kind;
    return {
      verdict: "unknown",
      explanation: `ovn-trace sent it to "${o.port}"${o.portType ? ` (${o.portType})` : ""} on ${node}, not to ${wanted}`,
      objects: [],
    };
  }
  if (o.kind === "dropped") {
    const doc = last.ovnTrace;
    const uuid = doc?.verdict.kind === "dropped" ? doc.verdict.uuid : undefined;
    const stage = doc?.verdict.kind === "dropped" ? (doc.verdict.stage ?? "") : "";
    const direction = directionOfStage(stage);
    const base = {
      verdict: "dropped" as const,
      node,
      where: o.where,
      ...(direction === undefined ? {} : { direction }),
    };
    if (uuid === undefined) return { ...base, explanation: o.reason, objects: [] };
    const earlier = logicalStages(hops).flatMap((s) => (s.node === node ? (s.step.uuid ?? []) : []));
    const e = await named(run, node, (dbs) => explainDrop(dbs, { lflowUuid: uuid, earlier }, pods));
    if (typeof e === "string") return { ...base, explanation: `${o.reason} (${e})`, objects: [] };
    return { ...base, explanation: e?.text ?? o.reason, objects: uniqueRefs(e?.objects ?? []) };
  }
  if (o.kind === "error") return { verdict: "unknown", explanation: `${node}: ${o.message}`, objects: [] };
  return { verdict: "unknown", explanation: `${node}: ovn-trace ended in a ${o.kind}`, objects: [] };
}

/** The full trace's verdict of one backend, in the matrix's words. */
function openflowKind(v: Verdict, d: DirectionPlan): { verdict: MatrixVerdictKind; explanation: string } {
  switch (v.kind) {
    case "delivered": {
      const ok = d.expect.kind === "pod" && v.to.kind === "pod" && v.to.lsp === d.expect.lsp;
      const to = v.to.kind === "pod" ? `${v.to.namespace}/${v.to.name}` : v.to.kind;
      return ok
        ? { verdict: "allowed", explanation: `delivered to ${to} on ${v.node}` }
        : { verdict: "unknown", explanation: `delivered to ${to} on ${v.node}, not to the destination` };
    }
    case "dropped":
      return { verdict: "dropped", explanation: `dropped on ${v.node}: ${v.explanation ?? v.reason}` };
    case "rejected":
      return { verdict: "rejected", explanation: v.explanation ?? v.reason };
    case "left-cluster":
      return { verdict: "unknown", explanation: `left the cluster through ${v.node}` };
    case "unknown":
      return { verdict: "unknown", explanation: v.reason };
  }
}

/** A Service's cell from its backends' outcomes: theirs when they agree, `mixed` when not. */
function serviceOutcome(backends: readonly MatrixBackendOutcome[]): MatrixOutcome {
  const kinds = new Set(backends.map((x) => x.verdict));
  const objects = uniqueRefs(backends.flatMap((x) => x.objects));
  const texts = [...new Set(backends.map((x) => x.explanation))];
  const first = backends[0];
  if (kinds.size === 1 && first !== undefined) {
    const direction = new Set(backends.map((x) => x.direction));
    return {
      verdict: first.verdict,
      explanation:
        texts.length === 1
          ? (texts[0] ?? "")
          : backends.map((x) => `to ${x.pod.name}: ${x.explanation}`).join("; "),
      objects,
      ...(direction.size === 1 && first.direction !== undefined ? { direction: first.direction } : {}),
      ...(first.node === undefined || backends.length !== 1 ? {} : { node: first.node }),
      ...(first.where === undefined || backends.length !== 1 ? {} : { where: first.where }),
    };
  }
  const counts = [...kinds].map((k) => `${String(backends.filter((x) => x.verdict === k).length)} ${k}`);
  return {
    verdict: "mixed",
    explanation: `its ${String(backends.length)} backends differ (${counts.join(", ")}): ${backends.map((x) => `to ${x.pod.name}: ${x.explanation}`).join("; ")}`,
    objects,
  };
}

interface CellWork {
  readonly from: number;
  readonly to: number;
  readonly port: number;
}

/** One cell: resolved and planned as a trace, each planned forward direction traced logically. */
async function computeCell(
  run: MatrixRun,
  spec: MatrixSpec,
  family: Family,
  src: MatrixPod,
  dst: MatrixDestination,
  port: MatrixPort,
): Promise<{ outcome: MatrixOutcome; backends?: MatrixBackendOutcome[]; openflow?: MatrixOpenFlowCheck }> {
  if (dst.kind === "pod" && dst.namespace === src.namespace && dst.name === src.name)
    return { outcome: SELF };
  const target: TraceTarget = {
    src: { namespace: src.namespace, name: src.name },
    dst: { kind: dst.kind, namespace: dst.namespace, name: dst.name },
    protocol: port.protocol,
    dstPort: port.protocol === "icmp" ? 0 : port.port,
    family,
  };
  let r: Resolution;
  try {
    r = await resolveTarget(run.b, target);
  } catch (e) {
    // what this one cell cannot have (a Service with only host-network endpoints, a pod without a MAC)
    if (e instanceof InputError || e instanceof NotFoundError)
      return { outcome: { verdict: "unknown", explanation: e.message, objects: [] } };
    throw e;
  }
  const srcPort = spec.srcPort ?? DEFAULT_SRC_PORT;
  const plans = planTraces(r, { allBackends: true, srcPort });
  const ctx: LogicalTraceContext = {
    exec: (node, argv) => run.b.execOnNode(node, argv),
    ...(run.b.ovnTrace === undefined ? {} : { ovnTrace: run.b.ovnTrace.bind(run.b) }),
    interconnect: r.interconnect,
    transitMac: (node) => r.nodes.get(node)?.transitMac,
  };
  const logical = await Promise.all(
    plans.map(async (p) => {
      const hops = await traceLogical(ctx, logicalRequest(r, p.forward));
      run.ovnTraces += hops.length;
      return logicalOutcome(run, r, p.forward, hops);
    }),
  );
  const openflow =
    spec.openflow === true
      ? await fullTraces(
          run,
          r,
          plans.map((p) => p.forward),
          logical,
          srcPort,
        )
      : undefined;
  const withOpenflow = openflow === undefined ? {} : { openflow };
  const svc = r.dst.kind === "service" ? r.dst : undefined;
  if (svc === undefined || svc.backends.length === 0)
    return {
      outcome: logical[0] ?? { verdict: "unknown", explanation: "nothing to trace", objects: [] },
      ...withOpenflow,
    };
  const backends = plans.map((p, i): MatrixBackendOutcome => {
    const pod = p.forward.dstPod;
    return {
      pod: {
        namespace: pod?.namespace ?? "",
        name: pod?.name ?? "",
        node: pod?.node ?? "",
        ip: pod?.ip ?? "",
      },
      ...(logical[i] ?? { verdict: "unknown", explanation: "not traced", objects: [] }),
    };
  });
  return { outcome: serviceOutcome(backends), backends, ...withOpenflow };
}

/** `--openflow`: the full trace of the cell (every backend) and whether it says what ovn-trace said. */
async function fullTraces(
  run: MatrixRun,
  r: Resolution,
  forwards: readonly DirectionPlan[],
  logical: readonly MatrixOutcome[],
  srcPort: number,
): Promise<MatrixOpenFlowCheck> {
  let reports: TraceReport[];
  try {
    reports = await runTraces(run.b, r, { skipDetrace: true, allBackends: true, srcPort });
  } catch (e) {
    return { verdict: "unknown", agrees: false, explanation: `the full trace failed: ${why(e)}` };
  }
  run.fullTraces += reports.length;
  const each = reports.map((x, i) => {
    const d = forwards[i];
    return d === undefined
      ? { verdict: "unknown" as const, explanation: "no plan" }
      : openflowKind(x.forward.verdict, d);
  });
  const agrees = each.length === logical.length && each.every((x, i) => x.verdict === logical[i]?.verdict);
  const kinds = new Set(each.map((x) => x.verdict));
  const first = each[0];
  return {
    verdict: kinds.size === 1 && first !== undefined ? first.verdict : "mixed",
    agrees,
    explanation: each.map((x) => x.explanation).join("; "),
  };
}

/** Runs `work` over `items` with at most `n` at a time, in order of start. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

/** The cluster's shape and each node's zone, from the Node objects (k8s.ovn.org/zone-name). */
async function zones(b: ClusterBackend): Promise<Map<string, string>> {
  const nodes = await b.listNodes();
  return new Map(
    nodes.map((n) => [
      n.metadata?.name ?? "",
      n.metadata?.annotations?.["k8s.ovn.org/zone-name"] ?? "global",
    ]),
  );
}

/** The sources, destinations and cells of the matrix `spec` asks for. */
export async function computeMatrix(b: ClusterBackend, spec: MatrixSpec): Promise<ReachabilityMatrix> {
  const started = performance.now();
  const fromSelector = parseSelector(spec.from.selector, "--from-selector");
  const toSelector = parseSelector(spec.to.selector, "--to-selector");
  const [fromPods, toPods, zoneMap] = await Promise.all([
    listSelectedPods(b, spec.from.namespaces, fromSelector),
    listSelectedPods(b, spec.to.namespaces, toSelector),
    zones(b),
  ]);
  const family = matrixFamily([...fromPods, ...toPods], spec.family);
  const sources = matrixPods(fromPods, family);
  const dstPods = matrixPods(toPods, family);
  const services = spec.to.services ? await matrixServices(b, spec.to.namespaces, family, spec.ports) : [];
  const destinations: MatrixDestination[] = [...dstPods.pods, ...services];
  const skipped: MatrixSkipped[] = [...sources.skipped];
  for (const s of dstPods.skipped)
    if (!skipped.some((x) => x.namespace === s.namespace && x.name === s.name)) skipped.push(s);

  const work: CellWork[] = [];
  sources.pods.forEach((_, from) => {
    destinations.forEach((d, to) => {
      const ports = d.kind === "service" ? d.ports : spec.ports.map((_p, i) => i);
      for (const port of ports) work.push({ from, to, port });
    });
  });
  const run: MatrixRun = {
    b,
    dbs: new Map(),
    zoneOf: (node) => zoneMap.get(node),
    ovnTraces: 0,
    fullTraces: 0,
  };
  // pods before Services: a Service's backends are traced by ovn-trace daemons of their own (--lb-dst)
  const order = [...work.keys()].sort(
    (x, y) =>
      Number(destinations[work[x]?.to ?? 0]?.kind === "service") -
        Number(destinations[work[y]?.to ?? 0]?.kind === "service") || x - y,
  );
  const cells: (MatrixCell | undefined)[] = Array.from({ length: work.length }, () => undefined);
  let done = 0;
  await pool(order, spec.parallel ?? 8, async (i) => {
    const w = work[i];
    const src = w === undefined ? undefined : sources.pods[w.from];
    const dst = w === undefined ? undefined : destinations[w.to];
    const port = w === undefined ? undefined : spec.ports[w.port];
    if (w === undefined || src === undefined || dst === undefined || port === undefined) return;
    const c = await computeCell(run, spec, family, src, dst, port);
    cells[i] = {
      from: w.from,
      to: w.to,
      port: w.port,
      ...c.outcome,
      ...(c.backends === undefined ? {} : { backends: c.backends }),
      ...(c.openflow === undefined ? {} : { openflow: c.openflow }),
    };
    spec.progress?.(++done, work.length);
  });
  const all = cells.filter((c): c is MatrixCell => c !== undefined);
  const counts: Record<MatrixVerdictKind, number> = {
    allowed: 0,
    dropped: 0,
    rejected: 0,
    mixed: 0,
    unknown: 0,
    self: 0,
  };
  for (const c of all) counts[c.verdict]++;
  const elapsedMs = Math.round(performance.now() - started);
  const interconnect = [...zoneMap.values()].some((z) => z !== "global");
  return {
    schemaVersion: MATRIX_SCHEMA_VERSION,
    kind: "ReachabilityMatrix",
    tool: { name: "ovnkube-trace", version: VERSION },
    cluster: {
      backend: b.kind,
      description: b.description,
      shape: interconnect ? "interconnect" : "central",
    },
    method: spec.openflow === true ? "ovn-trace+openflow" : "ovn-trace",
    family,
    srcPort: spec.srcPort ?? DEFAULT_SRC_PORT,
    selection: {
      from: { namespaces: spec.from.namespaces, selector: spec.from.selector },
      to: { namespaces: spec.to.namespaces, selector: spec.to.selector, services: spec.to.services },
    },
    ports: spec.ports,
    sources: sources.pods,
    destinations,
    cells: all,
    skipped,
    counts,
    stats: {
      cells: all.length,
      ovnTraces: run.ovnTraces,
      fullTraces: run.fullTraces,
      elapsedMs,
      cellsPerSecond: elapsedMs === 0 ? all.length : Math.round((all.length * 10_000) / elapsedMs) / 10,
    },
  };
}

/** `ns/name tcp/80`: a cell in words, for notes and tests. */
export function cellName(m: ReachabilityMatrix, c: MatrixCell): string {
  const s = m.sources[c.from];
  const d = m.destinations[c.to];
  const p = m.ports[c.port];
  return `${s === undefined ? "?" : `${s.namespace}/${s.name}`} → ${d === undefined ? "?" : `${d.kind === "service" ? "service " : ""}${d.namespace}/${d.name}`} ${p === undefined ? "?" : portLabel(p)}`;
}
