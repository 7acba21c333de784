import { seededRandom } from "../seeded-random.js";
import { InputError } from "../errors.js";
import type { Family } from "../net/ip.js";
import type {
  ClusterShape,
  ContainerPort,
  EgressRule,
  IngressRule,
  NamespaceSpec,
  NetworkPolicySpec,
  NodeSpec,
  PodSpec,
  Protocol,
  Scenario,
  ServicePort,
  ServiceSpec,
} from "./scenario.js";

/**
 * A generated scenario of any size, shaped like a real ovn-kubernetes cluster (kind node names, Deployments'
 * pods with ReplicaSet hashes, several namespaces with team labels, a Service per Deployment, NetworkPolicies
 * with pod and namespace selectors, ipBlocks and port ranges). Pure and deterministic: the same options give
 * the same scenario, byte for byte.
 */

export interface ScaleOptions {
  readonly nodes: number;
  /** Default: SCALE_PER_NODE.pods per node. */
  readonly pods?: number;
  readonly services?: number;
  readonly policies?: number;
  readonly shape?: ClusterShape;
  /** Default [4]; [4, 6] is dual stack. */
  readonly ipFamilies?: readonly Family[];
  /** Default 1. */
  readonly seed?: number;
}

/** `lab up --scale NODES` without --pods/--services/--policies. */
export const SCALE_PER_NODE = { pods: 40, services: 10, policies: 6 } as const;
/** Node subnets are the /24s of 10.244.0.0/16. */
export const SCALE_MAX_NODES = 256;
/** A node's /24 less the network, gateway (.1), management port (.2) and broadcast addresses. */
export const SCALE_MAX_PODS_PER_NODE = 252;
const NODE_PORTS = { first: 30000, last: 32767 } as const;
/** ClusterIPs are taken from 10.96.0.0/16 (and fd00:10:96::/112): 65,536 addresses less kube-dns's range. */
const MAX_SERVICES = 65_000;
const KUBE_DNS_IP: Record<Family, string> = { 4: "10.96.0.10", 6: "fd00:10:96::a" };
const UNDERLAY_V6 = "fc00:f853:ccd:e793";

/** Kubernetes' SafeEncodeString alphabet (pod name suffixes, pod-template-hash). */
const KUBE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

const NAMESPACES = [
  "storefront",
  "checkout",
  "payments",
  "catalog",
  "search",
  "inventory",
  "shipping",
  "identity",
  "notifications",
  "analytics",
  "recommendations",
  "reviews",
  "media",
  "billing",
  "orders",
  "messaging",
  "reporting",
  "ledger",
  "fraud",
  "pricing",
] as const;
const TEAMS = ["web", "commerce", "platform", "data", "growth"] as const;

/** A Deployment's kind of workload: its name part, tier, port and whether it exports metrics. */
interface Component {
  readonly name: string;
  readonly tier: "web" | "api" | "data" | "worker";
  readonly port: number;
  readonly protocol: Protocol;
  readonly metrics: boolean;
}
const COMPONENTS: readonly Component[] = [
  { name: "frontend", tier: "web", port: 8080, protocol: "TCP", metrics: true },
  { name: "api", tier: "api", port: 8443, protocol: "TCP", metrics: true },
  { name: "worker", tier: "worker", port: 8080, protocol: "TCP", metrics: true },
  { name: "grpc", tier: "api", port: 50051, protocol: "TCP", metrics: false },
  { name: "cache", tier: "data", port: 6379, protocol: "TCP", metrics: false },
  { name: "db-proxy", tier: "data", port: 5432, protocol: "TCP", metrics: true },
  { name: "statsd", tier: "worker", port: 8125, protocol: "UDP", metrics: false },
  { name: "gateway", tier: "web", port: 8080, protocol: "TCP", metrics: true },
  { name: "scheduler", tier: "worker", port: 8080, protocol: "TCP", metrics: false },
  { name: "indexer", tier: "worker", port: 9200, protocol: "TCP", metrics: true },
  { name: "auth", tier: "api", port: 8443, protocol: "TCP", metrics: true },
  { name: "consumer", tier: "worker", port: 8080, protocol: "TCP", metrics: false },
  { name: "admin", tier: "web", port: 3000, protocol: "TCP", metrics: false },
  { name: "ingest", tier: "api", port: 5000, protocol: "TCP", metrics: true },
  { name: "renderer", tier: "web", port: 8080, protocol: "TCP", metrics: false },
  { name: "syslog", tier: "data", port: 5514, protocol: "UDP", metrics: false },
];
const METRICS_PORT = 9090;

interface Deployment {
  readonly namespace: string;
  readonly name: string;
  readonly component: Component;
  readonly hash: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ContainerPort[];
  replicas: number;
}

function checkCount(what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new InputError(
      `${what} must be an integer from ${String(min)} to ${String(max)}, not ${String(v)}`,
    );
}

/** The scenario of a cluster of `nodes` nodes with that many pods, Services and NetworkPolicies. */
export function scaleScenario(o: ScaleOptions): Scenario {
  const nodes = o.nodes;
  checkCount("the number of nodes", nodes, 1, SCALE_MAX_NODES);
  const pods = o.pods ?? nodes * SCALE_PER_NODE.pods;
  const services = o.services ?? nodes * SCALE_PER_NODE.services;
  const policies = o.policies ?? nodes * SCALE_PER_NODE.policies;
  checkCount("the number of pods", pods, 0, nodes * SCALE_MAX_PODS_PER_NODE);
  checkCount("the number of services", services, 0, MAX_SERVICES);
  checkCount("the number of network policies", policies, 0, 100_000);
  const families = [...new Set<Family>(o.ipFamilies ?? [4])].sort((a, b) => a - b);
  if (families.length === 0) throw new InputError("ipFamilies must be 4, 6 or both, not none");
  const seed = o.seed ?? 1;
  const g = new Generator(seededRandom(seed), families);
  const nodeSpecs = g.nodes(nodes);
  const namespaces = g.namespaces(pods);
  const deployments = g.deployments(namespaces, pods, services);
  return {
    name: `scale-${String(nodes)}n-${String(pods)}p-${String(services)}s-${String(policies)}np`,
    description: `generated (seed ${String(seed)}): ${String(nodes)} nodes, ${String(pods)} pods, ${String(services)} services, ${String(policies)} network policies`,
    shape: o.shape ?? "central",
    clusterNetwork: {
      ...(families.includes(4) ? { ipv4: "10.244.0.0/16" } : {}),
      ...(families.includes(6) ? { ipv6: "fd00:10:244::/48" } : {}),
    },
    underlay: {
      cidr: "172.18.0.0/16",
      gateway: "172.18.0.1",
      ...(families.includes(6) ? { gatewayV6: `${UNDERLAY_V6}::1` } : {}),
    },
    nodes: nodeSpecs,
    namespaces,
    pods: g.pods(deployments, nodeSpecs),
    services: g.services(deployments, services),
    networkPolicies: g.policies(deployments, namespaces, policies),
  };
}

class Generator {
  private readonly names = new Set<string>();
  constructor(
    private readonly random: () => number,
    private readonly families: readonly Family[],
  ) {}

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(xs: readonly T[]): T {
    const x = xs[this.int(xs.length)];
    if (x === undefined) throw new Error("internal: pick from an empty list");
    return x;
  }

  /** A fresh random string of the Kubernetes alphabet (never the same twice in a scenario). */
  private token(length: number): string {
    for (;;) {
      const t = Array.from({ length }, () => KUBE_ALPHABET[this.int(KUBE_ALPHABET.length)]).join("");
      if (!this.names.has(t)) {
        this.names.add(t);
        return t;
      }
    }
  }

  nodes(count: number): NodeSpec[] {
    const zones = ["a", "b", "c"];
    return Array.from({ length: count }, (_, i): NodeSpec => {
      const name = i === 0 ? "ovn-control-plane" : i === 1 ? "ovn-worker" : `ovn-worker${String(i)}`;
      return {
        name,
        ip: `172.18.${String(Math.floor((i + 2) / 256))}.${String((i + 2) % 256)}`,
        ...(this.families.includes(6) ? { ipv6: `${UNDERLAY_V6}::${(i + 2).toString(16)}` } : {}),
        subnets: {
          ...(this.families.includes(4) ? { ipv4: `10.244.${String(i)}.0/24` } : {}),
          ...(this.families.includes(6) ? { ipv6: `fd00:10:244:${i.toString(16)}::/64` } : {}),
        },
        nodeId: i + 2,
        labels: {
          "kubernetes.io/hostname": name,
          "topology.kubernetes.io/zone": `zone-${zones[i % zones.length] ?? "a"}`,
          ...(i === 0 ? { "node-role.kubernetes.io/control-plane": "" } : {}),
        },
      };
    });
  }

  /** kube-system and monitoring, and about one application namespace per 60 pods (3 to 60). */
  namespaces(pods: number): NamespaceSpec[] {
    const count = Math.max(3, Math.min(60, Math.round(pods / 60)));
    const apps = Array.from({ length: count }, (_, i): NamespaceSpec => {
      const base = NAMESPACES[i % NAMESPACES.length] ?? "apps";
      const round = Math.floor(i / NAMESPACES.length);
      return {
        name: round === 0 ? base : `${base}-${String(round + 1)}`,
        labels: { team: TEAMS[i % TEAMS.length] ?? "web", env: i % 4 === 3 ? "staging" : "prod" },
      };
    });
    return [
      { name: "kube-system" },
      { name: "monitoring", labels: { purpose: "monitoring", team: "platform" } },
      ...apps,
    ];
  }

  private deployment(namespace: string, name: string, component: Component, replicas: number): Deployment {
    const hash = this.token(this.int(2) === 0 ? 9 : 10);
    const ports: ContainerPort[] = [
      {
        port: component.port,
        protocol: component.protocol,
        name: component.protocol === "UDP" ? "udp" : "main",
      },
      ...(component.metrics ? [{ port: METRICS_PORT, protocol: "TCP" as const, name: "metrics" }] : []),
    ];
    return {
      namespace,
      name,
      component,
      hash,
      labels: {
        app: name,
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": namespace,
        tier: component.tier,
        "pod-template-hash": hash,
      },
      ports,
      replicas,
    };
  }

  /**
   * coredns (2 replicas) and prometheus, then application Deployments (one per Service, at least one pod each)
   * sharing the remaining pods, 1 to 8 replicas around the mean.
   */
  deployments(namespaces: readonly NamespaceSpec[], pods: number, services: number): Deployment[] {
    const infra: Deployment[] = [];
    let left = pods;
    if (left >= 1) {
      const replicas = Math.min(2, left);
      infra.push({
        ...this.deployment("kube-system", "coredns", COMPONENTS[0] ?? must(), replicas),
        labels: { "k8s-app": "kube-dns", "pod-template-hash": this.token(10) },
        ports: [
          { port: 53, protocol: "UDP", name: "dns" },
          { port: 53, protocol: "TCP", name: "dns-tcp" },
          { port: 9153, protocol: "TCP", name: "metrics" },
        ],
      });
      left -= replicas;
    }
    if (left >= 1) {
      infra.push({
        ...this.deployment("monitoring", "prometheus", COMPONENTS[0] ?? must(), 1),
        labels: {
          app: "prometheus",
          "app.kubernetes.io/name": "prometheus",
          "pod-template-hash": this.token(10),
        },
        ports: [{ port: METRICS_PORT, protocol: "TCP", name: "web" }],
      });
      left -= 1;
    }
    const appNamespaces = namespaces.slice(2);
    const count = Math.min(left, Math.max(1, services - infra.length));
    const apps: Deployment[] = [];
    const used = new Set<string>();
    for (let i = 0; i < count; i++) {
      const ns = appNamespaces[i % appNamespaces.length]?.name ?? "default";
      const component = this.pick(COMPONENTS);
      let name = `${ns.replace(/-\d+$/, "")}-${component.name}`;
      for (let k = 2; used.has(`${ns}/${name}`); k++)
        name = `${ns.replace(/-\d+$/, "")}-${component.name}-${String(k)}`;
      used.add(`${ns}/${name}`);
      apps.push(this.deployment(ns, name, component, 1));
    }
    // the remaining pods as extra replicas, a few at a time, to random Deployments (capped at 4x the mean)
    const cap = Math.max(2, Math.ceil((4 * left) / Math.max(1, count)));
    let extra = left - count;
    while (extra > 0 && apps.length > 0) {
      const d = this.pick(apps);
      if (d.replicas >= cap) {
        const free = apps.find((x) => x.replicas < cap);
        if (free === undefined) break;
        free.replicas++;
      } else d.replicas++;
      extra--;
    }
    return [...infra, ...apps];
  }

  /** Replicas spread over the nodes as the scheduler would (each node within one pod of the mean), IPs in order. */
  pods(deployments: readonly Deployment[], nodes: readonly NodeSpec[]): PodSpec[] {
    const next = nodes.map(() => 3);
    const out: PodSpec[] = [];
    let cursor = 0;
    for (const d of deployments) {
      for (let r = 0; r < d.replicas; r++) {
        const i = cursor++ % nodes.length;
        const node = nodes[i] ?? must();
        const host = next[i] ?? 3;
        next[i] = host + 1;
        out.push({
          namespace: d.namespace,
          name: `${d.name}-${d.labels["pod-template-hash"] ?? d.hash}-${this.token(5)}`,
          node: node.name,
          ips: [
            ...(this.families.includes(4) ? [`10.244.${String(i)}.${String(host)}`] : []),
            ...(this.families.includes(6) ? [`fd00:10:244:${i.toString(16)}::${host.toString(16)}`] : []),
          ],
          labels: d.labels,
          ports: d.ports,
        });
      }
    }
    return out;
  }

  /** kube-dns, prometheus, then one Service per application Deployment, then `-metrics`/`-internal` ones. */
  services(deployments: readonly Deployment[], count: number): ServiceSpec[] {
    const ips = new Set<number>();
    const clusterIps = (offset?: number): string[] => {
      let o = offset;
      while (o === undefined || ips.has(o)) o = 16 + this.int(65_500);
      ips.add(o);
      return this.families.map((f) =>
        f === 4 ? `10.96.${String(o >> 8)}.${String(o & 255)}` : `fd00:10:96::${o.toString(16)}`,
      );
    };
    let nodePort: number = NODE_PORTS.first;
    const out: ServiceSpec[] = [];
    const selectable = deployments.filter((d) => d.replicas > 0);
    if (selectable.length === 0) return [];
    for (let i = 0; out.length < count; i++) {
      const d = selectable[i % selectable.length] ?? must();
      const round = Math.floor(i / selectable.length);
      const selector: Record<string, string> =
        d.labels["k8s-app"] === undefined ? { app: d.labels.app ?? d.name } : { "k8s-app": "kube-dns" };
      if (d.name === "coredns" && round === 0) {
        out.push({
          namespace: d.namespace,
          name: "kube-dns",
          clusterIPs: this.families.map((f) => KUBE_DNS_IP[f]),
          selector,
          ports: [
            { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
            { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
            { name: "metrics", protocol: "TCP", port: 9153, targetPort: 9153 },
          ],
        });
        ips.add(10);
        continue;
      }
      const main = d.ports[0] ?? must();
      const metrics = round === 1 && d.ports.some((p) => p.port === METRICS_PORT);
      const isNodePort = !metrics && this.int(12) === 0 && nodePort <= NODE_PORTS.last;
      const suffix = round === 0 ? "" : metrics ? "-metrics" : `-internal-${String(round)}`;
      const protocol = main.protocol ?? "TCP";
      const port: ServicePort = metrics
        ? { name: "metrics", protocol: "TCP", port: METRICS_PORT, targetPort: METRICS_PORT }
        : {
            name: protocol === "UDP" ? "udp" : main.port === 8443 ? "https" : "http",
            protocol,
            port:
              protocol === "TCP" && main.port === 8443
                ? 443
                : protocol === "TCP" && main.port === 8080
                  ? 80
                  : main.port,
            targetPort: main.port,
            ...(isNodePort ? { nodePort: nodePort++ } : {}),
          };
      out.push({
        namespace: d.namespace,
        name: `${d.name}${suffix}`,
        ...(isNodePort ? { type: "NodePort" as const } : {}),
        clusterIPs: clusterIps(),
        selector,
        ports: [port],
      });
    }
    return out;
  }

  /**
   * NetworkPolicies on the application Deployments (the first `count` of a shuffled list, then again with other
   * kinds): ingress from a Deployment of the namespace, from prometheus (namespace and pod selector), from a
   * team's namespaces, from the node network (an ipBlock with an exception, a port range), and egress-restricting
   * ones (to a Deployment, DNS to kube-dns, HTTPS out of the cluster).
   */
  policies(
    deployments: readonly Deployment[],
    namespaces: readonly NamespaceSpec[],
    count: number,
  ): NetworkPolicySpec[] {
    const apps = deployments.filter((d) => d.namespace !== "kube-system" && d.namespace !== "monitoring");
    if (apps.length === 0 || count === 0) return [];
    const order = [...apps];
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [order[i], order[j]] = [order[j] ?? must(), order[i] ?? must()];
    }
    const teams = [
      ...new Set(namespaces.flatMap((n) => (n.labels?.team === undefined ? [] : [n.labels.team]))),
    ];
    const names = new Set<string>();
    const out: NetworkPolicySpec[] = [];
    for (let i = 0; out.length < count; i++) {
      const d = order[i % order.length] ?? must();
      const peers = apps.filter((x) => x.namespace === d.namespace && x !== d);
      const kind = this.int(peers.length > 0 ? 6 : 4);
      const spec = this.policy(
        d,
        kind === 4 || kind === 5 ? (peers[this.int(peers.length)] ?? d) : d,
        kind,
        teams,
      );
      let name = spec.name;
      for (let k = 2; names.has(`${d.namespace}/${name}`); k++) name = `${spec.name}-${String(k)}`;
      names.add(`${d.namespace}/${name}`);
      out.push({ ...spec, name });
    }
    return out;
  }

  private policy(d: Deployment, peer: Deployment, kind: number, teams: readonly string[]): NetworkPolicySpec {
    const main = d.ports[0] ?? must();
    const mainPort = { protocol: main.protocol ?? "TCP", port: main.port };
    const base = { namespace: d.namespace, podSelector: { matchLabels: { app: d.name } } };
    const cidrs = (v4: string, v6: string): string[] => this.families.map((f) => (f === 4 ? v4 : v6));
    const ingress = (name: string, rules: IngressRule[]): NetworkPolicySpec => ({
      ...base,
      name,
      policyTypes: ["Ingress"],
      ingress: rules,
    });
    switch (kind) {
      case 0:
        return ingress(`${d.name}-allow-monitoring`, [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { purpose: "monitoring" } },
                podSelector: { matchLabels: { app: "prometheus" } },
              },
            ],
            ports: [
              {
                protocol: "TCP",
                port: d.ports.some((p) => p.port === METRICS_PORT) ? METRICS_PORT : main.port,
              },
            ],
          },
        ]);
      case 1:
        return ingress(`${d.name}-allow-team`, [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: this.pick(teams.length > 0 ? teams : ["web"]) } } },
            ],
            ports: [mainPort],
          },
        ]);
      case 2:
        return ingress(`${d.name}-allow-nodes`, [
          {
            from: [
              ...cidrs("172.18.0.0/16", `${UNDERLAY_V6}::/64`).map((cidr) => ({
                ipBlock: {
                  cidr,
                  except: [cidr.includes(":") ? `${UNDERLAY_V6}::1/128` : "172.18.0.1/32"],
                },
              })),
            ],
            ports: [mainPort, { protocol: "TCP", port: 30000, endPort: 32767 }],
          },
        ]);
      case 3:
        return ingress(`${d.name}-allow-same-namespace`, [{ from: [{ podSelector: {} }] }]);
      case 4:
        return ingress(`${d.name}-allow-from-${peer.name.slice(peer.namespace.length + 1) || peer.name}`, [
          { from: [{ podSelector: { matchLabels: { app: peer.name } } }], ports: [mainPort] },
        ]);
      default: {
        const peerMain = peer.ports[0] ?? must();
        const egress: EgressRule[] = [
          {
            to: [{ podSelector: { matchLabels: { app: peer.name } } }],
            ports: [{ protocol: peerMain.protocol ?? "TCP", port: peerMain.port }],
          },
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
          {
            to: cidrs("0.0.0.0/0", "::/0").map((cidr) => ({
              ipBlock: { cidr, except: [cidr.includes(":") ? "fd00::/8" : "10.0.0.0/8"] },
            })),
            ports: [{ protocol: "TCP", port: 443 }],
          },
        ];
        return { ...base, name: `${d.name}-restrict-egress`, policyTypes: ["Egress"], egress };
      }
    }
  }
}

function must(): never {
  throw new Error("internal: unexpected undefined");
}

/** Whether a selector's labels are all on `labels`. */
const selects = (
  sel: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);

/**
 * Two pods on different nodes that talk over TCP with no NetworkPolicy in the way (the destination is selected by
 * no ingress policy, the source by no egress policy): a trace and a probe between them cross the whole path.
 * With `policed`, the destination is one an ingress policy selects instead (what happens depends on the policy).
 */
export function crossNodePair(
  s: Scenario,
  policed = false,
): { readonly src: PodSpec; readonly dst: PodSpec; readonly port: number } | undefined {
  const nps = s.networkPolicies ?? [];
  const selected = (p: PodSpec, dir: "Ingress" | "Egress"): boolean =>
    nps.some(
      (np) =>
        np.namespace === p.namespace &&
        (np.policyTypes ?? ["Ingress"]).includes(dir) &&
        selects(np.podSelector.matchLabels, p.labels ?? {}),
    );
  // application pods: not coredns, nor prometheus
  const pods = (s.pods ?? []).filter(
    (p) => p.hostNetwork !== true && p.namespace !== "kube-system" && p.namespace !== "monitoring",
  );
  const dst = pods.find(
    (p) => (p.ports ?? []).some((x) => (x.protocol ?? "TCP") === "TCP") && selected(p, "Ingress") === policed,
  );
  if (dst === undefined) return undefined;
  const src = pods.find((p) => p.node !== dst.node && !selected(p, "Egress"));
  const port = (dst.ports ?? []).find((x) => (x.protocol ?? "TCP") === "TCP")?.port;
  return src === undefined || port === undefined ? undefined : { src, dst, port };
}
