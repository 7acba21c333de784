import { parseAllDocuments, stringify } from "yaml";
import { InputError } from "../errors.js";
import { readBounded } from "../files.js";
import type { MatrixPort, PolicyDirection } from "../model/matrix.js";
import type { PolicyCluster, PolicyPod } from "./network-policy.js";
import type { LabelSelector, NetworkPolicySpec, PolicyPeer, PolicyPort, Protocol } from "./scenario.js";

/**
 * `what-if` on the lab: the smallest NetworkPolicy change that lets one pod reach another on a port (a rule added to
 * the policy that isolates the side that drops it), and NetworkPolicy manifests in and out.
 */

/** Labels that name one pod generation, not what the pod is: never a selector's. */
const VOLATILE = new Set([
  "pod-template-hash",
  "controller-revision-hash",
  "pod-template-generation",
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
  "controller-uid",
  "batch.kubernetes.io/controller-uid",
]);

const matches = (labels: Readonly<Record<string, string>>, sel: Readonly<Record<string, string>>): boolean =>
  Object.entries(sel).every(([k, v]) => labels[k] === v);

/**
 * The fewest of a pod's labels that select the fewest pods of its namespace (itself included): `app: frontend`
 * rather than `app: frontend, tier: web` when both select the same pods.
 */
export function distinguishingLabels(c: PolicyCluster, pod: PolicyPod): Record<string, string> {
  const entries = Object.entries(pod.labels)
    .filter(([k]) => !VOLATILE.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, 12);
  const peers = c.pods.filter((p) => p.namespace === pod.namespace && !p.hostNetwork);
  let best: { sel: Record<string, string>; n: number; size: number } | undefined;
  for (let mask = 1; mask < 1 << entries.length; mask++) {
    const sel = Object.fromEntries(entries.filter((_, i) => (mask & (1 << i)) !== 0));
    const size = Object.keys(sel).length;
    const n = peers.filter((p) => matches(p.labels, sel)).length;
    if (best === undefined || n < best.n || (n === best.n && size < best.size)) best = { sel, n, size };
  }
  return best?.sel ?? {};
}

function selectsPod(np: NetworkPolicySpec, p: PolicyPod): boolean {
  return (
    np.namespace === p.namespace && !p.hostNetwork && matches(p.labels, np.podSelector.matchLabels ?? {})
  );
}

const types = (np: NetworkPolicySpec): readonly ("Ingress" | "Egress")[] =>
  np.policyTypes ?? (np.egress !== undefined && np.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"]);

/** A proposed change: the policy as it would be applied (the whole object, for `kubectl apply`), and what it adds. */
export interface Proposal {
  readonly policy: NetworkPolicySpec;
  /** Whose side: a rule in the receiver's ingress or the sender's egress policy. */
  readonly direction: PolicyDirection;
  /** The policy it changes (else a new one). */
  readonly changes?: string;
  /** Caveats in words (ICMP has no port in a NetworkPolicy: the rule allows every port). */
  readonly notes: readonly string[];
}

/**
 * The smallest change that lets `src` reach `dst` on `port` when `direction`'s side drops it: a rule added to the most
 * specific policy (fewest pods selected) of that side that isolates it, allowing the other end by its distinguishing
 * labels (and its namespace's name when it is in another namespace) on that port only.
 */
export function proposeAllow(
  c: PolicyCluster,
  src: PolicyPod,
  dst: PolicyPod,
  port: MatrixPort,
  direction: PolicyDirection,
): Proposal {
  const [owner, other] = direction === "ingress" ? [dst, src] : [src, dst];
  const type = direction === "ingress" ? "Ingress" : "Egress";
  const isolating = c.networkPolicies.filter((np) => selectsPod(np, owner) && types(np).includes(type));
  const selected = (np: NetworkPolicySpec): number => c.pods.filter((p) => selectsPod(np, p)).length;
  const base = [...isolating].sort((a, b) => selected(a) - selected(b))[0];
  const notes: string[] = [];
  const peer: PolicyPeer = {
    podSelector: { matchLabels: distinguishingLabels(c, other) },
    ...(other.namespace === owner.namespace
      ? {}
      : { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": other.namespace } } }),
  };
  let ports: PolicyPort[] | undefined;
  if (port.protocol === "icmp")
    notes.push("a NetworkPolicy port cannot name ICMP: the rule allows every port");
  else ports = [{ protocol: port.protocol.toUpperCase() as Protocol, port: port.port }];
  const rule = {
    ...(direction === "ingress" ? { from: [peer] } : { to: [peer] }),
    ...(ports ? { ports } : {}),
  };
  if (base === undefined) {
    notes.push(`no policy isolates ${owner.namespace}/${owner.name} for ${direction}: a new one`);
    const policy: NetworkPolicySpec = {
      namespace: owner.namespace,
      name: `allow-${other.name}-to-${dst.name}`.slice(0, 63),
      podSelector: { matchLabels: distinguishingLabels(c, owner) },
      policyTypes: [type],
      ...(direction === "ingress" ? { ingress: [rule] } : { egress: [rule] }),
    };
    return { policy, direction, notes };
  }
  const policy: NetworkPolicySpec = {
    ...base,
    policyTypes: types(base),
    ...(direction === "ingress"
      ? { ingress: [...(base.ingress ?? []), rule] }
      : { egress: [...(base.egress ?? []), rule] }),
  };
  return { policy, direction, changes: `${base.namespace}/${base.name}`, notes };
}

/** The lab's policies with `np` applied as `kubectl apply` would: replacing the one of the same name, else added. */
export function withPolicy(
  policies: readonly NetworkPolicySpec[],
  np: NetworkPolicySpec,
): NetworkPolicySpec[] {
  const same = (x: NetworkPolicySpec): boolean => x.namespace === np.namespace && x.name === np.name;
  return policies.some(same) ? policies.map((x) => (same(x) ? np : x)) : [...policies, np];
}

/** A policy as a manifest for `kubectl apply`. */
export function policyManifest(np: NetworkPolicySpec): string {
  return stringify({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: np.name, namespace: np.namespace },
    spec: {
      podSelector: np.podSelector,
      policyTypes: types(np),
      ...(np.ingress === undefined ? {} : { ingress: np.ingress }),
      ...(np.egress === undefined ? {} : { egress: np.egress }),
    },
  });
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);

function selector(x: unknown, where: string): LabelSelector | undefined {
  if (x === undefined || x === null) return undefined;
  if (!isObj(x)) throw new InputError(`${where} is not a label selector`);
  const exprs = x.matchExpressions;
  if (Array.isArray(exprs) && exprs.length > 0)
    throw new InputError(`${where}.matchExpressions: the lab's policies take matchLabels only`);
  const ml = x.matchLabels ?? {};
  if (!isObj(ml) || !Object.values(ml).every((v) => typeof v === "string"))
    throw new InputError(`${where}.matchLabels must map strings to strings`);
  return Object.keys(ml).length === 0 ? {} : { matchLabels: ml as Record<string, string> };
}

function policyPorts(x: unknown, where: string): PolicyPort[] | undefined {
  if (x === undefined || x === null) return undefined;
  if (!Array.isArray(x)) throw new InputError(`${where} is not a list`);
  return x.map((p: unknown, i): PolicyPort => {
    if (!isObj(p)) throw new InputError(`${where}[${i}] is not a port`);
    const protocol = p.protocol ?? "TCP";
    if (protocol !== "TCP" && protocol !== "UDP" && protocol !== "SCTP")
      throw new InputError(`${where}[${i}].protocol must be TCP, UDP or SCTP`);
    if (p.port !== undefined && typeof p.port !== "number")
      throw new InputError(`${where}[${i}].port: the lab takes port numbers, not names`);
    if (p.endPort !== undefined && typeof p.endPort !== "number")
      throw new InputError(`${where}[${i}].endPort must be a number`);
    return {
      protocol,
      ...(p.port === undefined ? {} : { port: p.port }),
      ...(p.endPort === undefined ? {} : { endPort: p.endPort }),
    };
  });
}

function peers(x: unknown, where: string): PolicyPeer[] | undefined {
  if (x === undefined || x === null) return undefined;
  if (!Array.isArray(x)) throw new InputError(`${where} is not a list`);
  return x.map((p: unknown, i): PolicyPeer => {
    if (!isObj(p)) throw new InputError(`${where}[${i}] is not a peer`);
    const pod = selector(p.podSelector, `${where}[${i}].podSelector`);
    const ns = selector(p.namespaceSelector, `${where}[${i}].namespaceSelector`);
    const block = p.ipBlock;
    if (block !== undefined && (!isObj(block) || typeof block.cidr !== "string"))
      throw new InputError(`${where}[${i}].ipBlock needs a cidr`);
    return {
      ...(pod === undefined ? {} : { podSelector: pod }),
      ...(ns === undefined ? {} : { namespaceSelector: ns }),
      ...(isObj(block)
        ? {
            ipBlock: {
              cidr: String(block.cidr),
              ...(Array.isArray(block.except) ? { except: block.except.map(String) } : {}),
            },
          }
        : {}),
    };
  });
}

/** A NetworkPolicy manifest (one YAML or JSON document) as the lab's policy spec. */
export function parsePolicyManifest(text: string, file: string): NetworkPolicySpec {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  if (docs.length !== 1)
    throw new InputError(`${file}: give one NetworkPolicy, not ${docs.length} documents`);
  const doc = docs[0];
  if (doc === undefined || doc.errors.length > 0)
    throw new InputError(`${file}: not YAML: ${doc?.errors[0]?.message ?? ""}`);
  return policyFromObject(doc.toJS(), file);
}

/** A NetworkPolicy object (a manifest's, or a snapshot's Kubernetes object) as the lab's policy spec. */
export function policyFromObject(o: unknown, file: string): NetworkPolicySpec {
  if (!isObj(o) || o.kind !== "NetworkPolicy" || !isObj(o.metadata) || !isObj(o.spec))
    throw new InputError(`${file} is not a NetworkPolicy (kind, metadata, spec)`);
  const name = o.metadata.name;
  if (typeof name !== "string" || name === "") throw new InputError(`${file}: metadata.name is missing`);
  const namespace = typeof o.metadata.namespace === "string" ? o.metadata.namespace : "default";
  const spec = o.spec;
  const pt = spec.policyTypes;
  if (pt !== undefined && (!Array.isArray(pt) || !pt.every((t) => t === "Ingress" || t === "Egress")))
    throw new InputError(`${file}: spec.policyTypes must list Ingress and/or Egress`);
  const rules = (key: "ingress" | "egress"): unknown[] | undefined => {
    const r = spec[key];
    if (r === undefined || r === null) return undefined;
    if (!Array.isArray(r)) throw new InputError(`${file}: spec.${key} is not a list`);
    return r as unknown[];
  };
  const ingress = rules("ingress")?.map((r, i) => {
    const from = peers(isObj(r) ? r.from : undefined, `spec.ingress[${i}].from`);
    const ports = policyPorts(isObj(r) ? r.ports : undefined, `spec.ingress[${i}].ports`);
    return { ...(from ? { from } : {}), ...(ports ? { ports } : {}) };
  });
  const egress = rules("egress")?.map((r, i) => {
    const to = peers(isObj(r) ? r.to : undefined, `spec.egress[${i}].to`);
    const ports = policyPorts(isObj(r) ? r.ports : undefined, `spec.egress[${i}].ports`);
    return { ...(to ? { to } : {}), ...(ports ? { ports } : {}) };
  });
  return {
    namespace,
    name,
    podSelector: selector(spec.podSelector, "spec.podSelector") ?? {},
    ...(pt === undefined ? {} : { policyTypes: pt as ("Ingress" | "Egress")[] }),
    ...(ingress ? { ingress } : {}),
    ...(egress ? { egress } : {}),
  };
}

/** The policy file given with `--policy`. */
export function readPolicyFile(file: string): NetworkPolicySpec {
  return parsePolicyManifest(readBounded(file, 1024 * 1024, "policy file").toString("utf8"), file);
}
