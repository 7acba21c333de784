import type { ClusterBackend } from "../cluster/backend.js";
import type { NodeObject, PodObject, ServiceObject } from "../cluster/kube-objects.js";
import { InputError } from "../errors.js";
import type { Family, L4Protocol } from "../model/report.js";
import type {
  ExternalSource,
  Resolution,
  ResolvedExternal,
  ResolvedGateway,
  ResolvedNode,
  ResolvedPod,
  ResolvedService,
  TraceTarget,
} from "../model/target.js";
import { canonicalIp, macFromIp, parseCidr, parseIp, formatIp, nthIp } from "../net/ip.js";
import { NotFoundError } from "../errors.js";
import { EXTERNAL_SOURCE_MAC } from "./plan.js";
import { alongPrimaryNetworks } from "./primary-network.js";
import { applyTrafficPolicy } from "./traffic-policy.js";

/** An annotation's JSON value (the caller names its expected shape). */
const json = (text: string | undefined, what: string): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InputError(`annotation ${what} is not valid JSON`);
  }
};

function podIps(p: PodObject): string[] {
  const list = (p.status?.podIPs ?? []).map((x) => x.ip);
  return list.length > 0 ? list : p.status?.podIP === undefined ? [] : [p.status.podIP];
}

function familyOf(ip: string): Family | undefined {
  return parseIp(ip)?.family;
}

interface GatewayConfig {
  mode?: string;
  "bridge-id"?: string;
  "interface-id"?: string;
  "mac-address"?: string;
  "ip-addresses"?: string[];
  "ip-address"?: string;
  "next-hops"?: string[];
  "next-hop"?: string;
}

/** The node's shared gateway from its l3-gateway-config (bridge, localnet port, MAC, addresses). */
function gatewayOf(c: GatewayConfig | undefined): ResolvedGateway | undefined {
  const bridge = c?.["bridge-id"];
  const interfaceId = c?.["interface-id"];
  const mac = c?.["mac-address"];
  if (c === undefined || bridge === undefined || interfaceId === undefined || mac === undefined)
    return undefined;
  const ips = c["ip-addresses"] ?? (c["ip-address"] === undefined ? [] : [c["ip-address"]]);
  const nextHops = c["next-hops"] ?? (c["next-hop"] === undefined ? [] : [c["next-hop"]]);
  return {
    bridge,
    interfaceId,
    mac: mac.toLowerCase(),
    ips: ips.map((x) => x.split("/")[0] ?? x),
    nextHops,
  };
}

async function resolveNode(b: ClusterBackend, name: string): Promise<ResolvedNode> {
  const n: NodeObject = await b.readNode(name);
  const a = n.metadata?.annotations ?? {};
  const gw = json(a["k8s.ovn.org/l3-gateway-config"], "k8s.ovn.org/l3-gateway-config") as
    Record<string, GatewayConfig> | undefined;
  const gateway = gatewayOf(gw?.default);
  const subnetsAnn = json(a["k8s.ovn.org/node-subnets"], "k8s.ovn.org/node-subnets") as
    Record<string, string | string[]> | undefined;
  const def = subnetsAnn?.default;
  const subnets = def === undefined ? [] : typeof def === "string" ? [def] : def;
  const firstSubnet = parseCidr(subnets[0] ?? "");
  const transit = json(
    a["k8s.ovn.org/node-transit-switch-port-ifaddr"],
    "k8s.ovn.org/node-transit-switch-port-ifaddr",
  ) as { ipv4?: string; ipv6?: string } | undefined;
  const transitIp = parseIp((transit?.ipv4 ?? transit?.ipv6 ?? "").split("/")[0] ?? "");
  return {
    name,
    zone: a["k8s.ovn.org/zone-name"] ?? "global",
    ...(a["k8s.ovn.org/node-chassis-id"] === undefined
      ? {}
      : { chassisId: a["k8s.ovn.org/node-chassis-id"] }),
    gatewayMode: gw?.default?.mode === "local" ? "local" : "shared",
    subnets,
    // ovn-kubernetes derives router port MACs from the port's first IP (util.IPAddrToHWAddr).
    gatewayMac: firstSubnet === undefined ? "" : macFromIp(nthIp(firstSubnet, 1)),
    ...(transitIp === undefined ? {} : { transitMac: macFromIp(transitIp) }),
    ...(gateway === undefined ? {} : { gateway }),
  };
}

async function namespaceExists(b: ClusterBackend, namespace: string): Promise<boolean> {
  try {
    await b.readNamespace(namespace);
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

async function resolvePod(
  b: ClusterBackend,
  namespace: string,
  name: string,
  family: Family | undefined,
): Promise<ResolvedPod> {
  let pod: PodObject;
  try {
    pod = await b.readPod(namespace, name);
  } catch (e) {
    if (e instanceof NotFoundError) {
      const ns = await namespaceExists(b, namespace);
      throw new NotFoundError(
        ns ? `pod "${name}" not found in namespace "${namespace}"` : `namespace "${namespace}" not found`,
        {
          hint: ns ? `kubectl get pods -n ${namespace}` : "kubectl get namespaces",
        },
      );
    }
    throw e;
  }
  const node = pod.spec?.nodeName;
  if (node === undefined) throw new InputError(`pod ${namespace}/${name} is not scheduled on a node`);
  const ips = podIps(pod);
  if (ips.length === 0) throw new InputError(`pod ${namespace}/${name} has no IP address yet`);
  const ip = family === undefined ? ips[0] : ips.find((i) => familyOf(i) === family);
  if (ip === undefined)
    throw new InputError(
      `pod ${namespace}/${name} has no IPv${family ?? 4} address (it has ${ips.join(", ")})`,
    );
  const hostNetwork = pod.spec?.hostNetwork === true;
  let mac = "";
  if (!hostNetwork) {
    const nets = json(pod.metadata?.annotations?.["k8s.ovn.org/pod-networks"], "k8s.ovn.org/pod-networks") as
      Record<string, { mac_address?: string }> | undefined;
    mac = nets?.default?.mac_address ?? "";
    if (mac === "")
      throw new InputError(
        `pod ${namespace}/${name} has no k8s.ovn.org/pod-networks MAC: is it on the OVN network?`,
      );
  } else {
    // A host-network pod reaches the OVN network through the node's management port (ovn-k8s-mp0).
    const n: NodeObject = await b.readNode(node);
    const macs = json(
      n.metadata?.annotations?.["k8s.ovn.org/node-mgmt-port-mac-addresses"],
      "k8s.ovn.org/node-mgmt-port-mac-addresses",
    ) as Record<string, string> | undefined;
    mac = macs?.default ?? "";
    if (mac === "") {
      throw new InputError(
        `node ${node} has no k8s.ovn.org/node-mgmt-port-mac-addresses: cannot trace from host-network pod ${namespace}/${name}`,
      );
    }
  }
  return {
    kind: "pod",
    namespace,
    name,
    node,
    ip,
    mac,
    hostNetwork,
    lsp: hostNetwork ? `k8s-${node}` : `${namespace}_${name}`,
  };
}

async function resolveService(
  b: ClusterBackend,
  namespace: string,
  name: string,
  family: Family,
  protocol: L4Protocol,
  port: number,
): Promise<ResolvedService> {
  const svc: ServiceObject = await b.readService(namespace, name).catch((e: unknown) => {
    throw e instanceof NotFoundError
      ? new NotFoundError(`service "${name}" not found in namespace "${namespace}"`)
      : e;
  });
  const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP === undefined ? [] : [svc.spec.clusterIP]);
  if (ips.length === 0 || ips[0] === "None")
    throw new InputError(`service ${namespace}/${name} is headless: it has no cluster IP to trace`);
  const ip = ips.find((i) => familyOf(i) === family);
  if (ip === undefined) throw new InputError(`service ${namespace}/${name} has no IPv${family} cluster IP`);
  const sp = (svc.spec?.ports ?? []).find(
    (p) => p.port === port && (p.protocol ?? "TCP").toLowerCase() === protocol,
  );
  if (sp === undefined) {
    const ports = (svc.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(", ");
    throw new InputError(
      `service ${namespace}/${name} has no ${protocol.toUpperCase()} port ${port} (ports: ${ports})`,
    );
  }
  const { backends, targets } = await podBackends(b, namespace, name, family);
  // No ready endpoint at all: traced, OVN's load balancer rejects. Only host-network ones: not traced (as the Go tool).
  if (backends.length === 0 && targets > 0) {
    throw new InputError(`service ${namespace}/${name} has only host-network endpoints of IPv${family}`, {
      hint: `trace to one of them with -dst-ip; kubectl get endpointslices -n ${namespace} -l kubernetes.io/service-name=${name}`,
    });
  }
  const targetPort = typeof sp.targetPort === "number" ? sp.targetPort : port;
  return { kind: "service", namespace, name, ip, port, targetPort, backends };
}

/** The endpoints of a Service of one family that are pods (the host-network ones skipped, as the Go tool does). */
async function podBackends(
  b: ClusterBackend,
  namespace: string,
  name: string,
  family: Family,
): Promise<{ backends: ResolvedPod[]; targets: number }> {
  const slices = await b.listEndpointSlices(namespace, {
    labelSelector: `kubernetes.io/service-name=${name}`,
  });
  const targets = slices
    .filter((s) => s.addressType === `IPv${family}`)
    .flatMap((s) => s.endpoints ?? [])
    .filter(
      (e) => e.conditions?.ready !== false && e.targetRef?.kind === "Pod" && e.targetRef.name !== undefined,
    );
  const backends: ResolvedPod[] = [];
  for (const t of targets) {
    const p = await resolvePod(b, t.targetRef?.namespace ?? namespace, t.targetRef?.name ?? "", family);
    if (!p.hostNetwork) backends.push(p);
  }
  return { backends, targets: targets.length };
}

/**
 * A Service reached from outside the cluster at a node's address: through one of its nodePorts (`port` names the
 * Service port or the nodePort itself).
 */
async function resolveNodePort(
  b: ClusterBackend,
  svc: ServiceObject,
  nodeIp: string,
  family: Family,
  protocol: L4Protocol,
  port: number,
): Promise<ResolvedService> {
  const namespace = svc.metadata?.namespace ?? "default";
  const name = svc.metadata?.name ?? "";
  const ports = (svc.spec?.ports ?? []).filter(
    (p) => (p.protocol ?? "TCP").toLowerCase() === protocol && p.nodePort !== undefined,
  );
  const sp = ports.find((p) => p.nodePort === port) ?? ports.find((p) => p.port === port);
  if (sp?.nodePort === undefined) {
    const all = ports.map((p) => `${String(p.port)}:${String(p.nodePort)}/${p.protocol ?? "TCP"}`).join(", ");
    throw new InputError(
      `service ${namespace}/${name} has no ${protocol.toUpperCase()} nodePort for port ${String(port)} (${all === "" ? "it has no nodePort: it is not reachable from outside at a node's address" : `port:nodePort ${all}`})`,
    );
  }
  const { backends, targets } = await podBackends(b, namespace, name, family);
  if (backends.length === 0 && targets > 0) {
    throw new InputError(`service ${namespace}/${name} has only host-network endpoints of IPv${family}`);
  }
  const targetPort = typeof sp.targetPort === "number" ? sp.targetPort : sp.port;
  return {
    kind: "service",
    namespace,
    name,
    ip: nodeIp,
    port: sp.nodePort,
    nodePort: sp.nodePort,
    targetPort,
    backends,
  };
}

/**
 * A packet from outside the cluster: it enters at the uplink of a node's shared gateway bridge, addressed to that
 * node's IP and a Service's nodePort (`-service`, or `-dst-ip NODE_IP -dst-port NODEPORT`).
 */
async function resolveFromOutside(b: ClusterBackend, t: TraceTarget, s: ExternalSource): Promise<Resolution> {
  const ip = parseIp(s.ip);
  if (ip === undefined) throw new InputError(`-src-ip "${s.ip}" is not an IP address`);
  const family = t.family ?? ip.family;
  if (ip.family !== family) throw new InputError(`-src-ip ${s.ip} is not an IPv${family} address`);
  const entry = await resolveNode(b, s.node).catch((e: unknown) => {
    throw e instanceof NotFoundError
      ? new NotFoundError(`node "${s.node}" not found`, { hint: "kubectl get nodes" })
      : e;
  });
  const gw = entry.gateway;
  if (gw === undefined)
    throw new InputError(
      `node ${s.node} has no usable k8s.ovn.org/l3-gateway-config (bridge-id, interface-id, mac-address): no shared gateway to enter it through`,
    );
  const nodeIp = gw.ips.find((x) => familyOf(x) === family);
  if (nodeIp === undefined)
    throw new InputError(`node ${s.node} has no IPv${family} address in its l3-gateway-config`);
  const src: ResolvedExternal = {
    kind: "external",
    ip: formatIp(ip),
    node: s.node,
    mac: EXTERNAL_SOURCE_MAC,
    lsp: gw.interfaceId,
    bridge: gw.bridge,
    nodeMac: gw.mac,
    nodeIp,
  };
  const d = t.dst;
  let dst: ResolvedService;
  if (d.kind === "service") {
    const svc = await b.readService(d.namespace, d.name).catch((e: unknown) => {
      throw e instanceof NotFoundError
        ? new NotFoundError(`service "${d.name}" not found in namespace "${d.namespace}"`)
        : e;
    });
    dst = applyTrafficPolicy(
      svc,
      await resolveNodePort(b, svc, nodeIp, family, t.protocol, t.dstPort),
      "externalTrafficPolicy",
      s.node,
    );
  } else if (d.kind === "ip") {
    const to = canonicalIp(d.ip);
    if (to === undefined || !gw.ips.some((x) => canonicalIp(x) === to))
      throw new InputError(
        `from outside the cluster, -dst-ip must be an address of the entry node ${s.node} (${gw.ips.join(", ")}): a NodePort`,
        {
          hint: "or name the Service with -service; pods are not reachable from outside at their own address",
        },
      );
    const svc = (await b.listServices(undefined)).find((x) =>
      (x.spec?.ports ?? []).some(
        (p) => p.nodePort === t.dstPort && (p.protocol ?? "TCP").toLowerCase() === t.protocol,
      ),
    );
    if (svc === undefined)
      throw new InputError(`no Service has ${t.protocol.toUpperCase()} nodePort ${String(t.dstPort)}`, {
        hint: "kubectl get services -A | grep NodePort",
      });
    dst = applyTrafficPolicy(
      svc,
      await resolveNodePort(b, svc, nodeIp, family, t.protocol, t.dstPort),
      "externalTrafficPolicy",
      s.node,
    );
  } else {
    throw new InputError(
      `pod ${d.namespace}/${d.name} is not reachable from outside the cluster at its own address`,
      { hint: "trace to its Service: -service NAME (a NodePort), or -dst-ip NODE_IP -dst-port NODEPORT" },
    );
  }
  const names = new Set([s.node, ...dst.backends.map((x) => x.node)]);
  const nodes = new Map<string, ResolvedNode>();
  await Promise.all(
    [...names].map(async (n) => nodes.set(n, n === s.node ? entry : await resolveNode(b, n))),
  );
  const interconnect = [...nodes.values()].some((n) => n.zone !== "global");
  return { family, protocol: t.protocol, dstPort: dst.port, src, dst, nodes, interconnect };
}

/** Resolves everything the traces need, reading each object once (the backend caches). */
export async function resolveTarget(b: ClusterBackend, t: TraceTarget): Promise<Resolution> {
  if (t.src.kind === "external") return resolveFromOutside(b, t, t.src);
  // without -addr-family, an IPv6 -dst-ip asks for the source's IPv6 address
  const wanted = t.family ?? (t.dst.kind === "ip" ? familyOf(t.dst.ip) : undefined);
  let src = await resolvePod(b, t.src.namespace, t.src.name, wanted);
  const family = t.family ?? familyOf(src.ip) ?? 4;
  const d = t.dst;
  let dst: Resolution["dst"];
  if (d.kind === "pod") dst = await resolvePod(b, d.namespace, d.name, family);
  else if (d.kind === "service") {
    const svc = await resolveService(b, d.namespace, d.name, family, t.protocol, t.dstPort);
    dst = applyTrafficPolicy(
      await b.readService(d.namespace, d.name),
      svc,
      "internalTrafficPolicy",
      src.node,
    );
  } else {
    const ip = parseIp(d.ip);
    if (ip === undefined) throw new InputError(`-dst-ip "${d.ip}" is not an IP address`);
    if (ip.family !== family)
      throw new InputError(`-dst-ip ${d.ip} is not an IPv${family} address like the source's ${src.ip}`);
    dst = { kind: "external", ip: formatIp(ip) };
  }
  if (src.hostNetwork && dst.kind === "pod" && dst.hostNetwork) {
    throw new InputError("source and destination cannot both be host-network pods");
  }
  ({ src, dst } = await alongPrimaryNetworks(b, family, src, dst));
  const names = new Set([
    src.node,
    ...(dst.kind === "pod" ? [dst.node] : []),
    ...(dst.kind === "service" ? dst.backends.map((x) => x.node) : []),
  ]);
  const nodes = new Map<string, ResolvedNode>();
  await Promise.all([...names].map(async (n) => nodes.set(n, await resolveNode(b, n))));
  const interconnect = [...nodes.values()].some((n) => n.zone !== "global");
  return { family, protocol: t.protocol, dstPort: t.dstPort, src, dst, nodes, interconnect };
}

/**
 * The resolution with one more node: one the packet turned out to leave the cluster through (an EgressIP's egress
 * node), whose gateway its reply from outside enters at. Unchanged when the node is known or cannot be read.
 */
export async function withNode(b: ClusterBackend, r: Resolution, name: string): Promise<Resolution> {
  if (r.nodes.has(name)) return r;
  try {
    const nodes = new Map(r.nodes);
    nodes.set(name, await resolveNode(b, name));
    return { ...r, nodes };
  } catch {
    return r;
  }
}
