import type { ClusterBackend } from "../cluster/backend.js";
import type { PodObject, ServiceObject } from "../cluster/kube-objects.js";
import { matchesLabelSelector, parseLabelSelector, type LabelRequirement } from "../cluster/selectors.js";
import { InputError } from "../errors.js";
import type { MatrixPod, MatrixPort, MatrixService, MatrixSkipped } from "../model/matrix.js";
import type { Family, L4Protocol } from "../model/report.js";
import { parseIp } from "../net/ip.js";

/**
 * What the reachability matrix is about: its ports (`tcp/80,udp/53,icmp`), namespaces and label selectors, and
 * the pods and Services they choose. Pure, but for listing the objects through the backend.
 */

const PROTOCOLS: readonly L4Protocol[] = ["tcp", "udp", "icmp"];

/** `tcp/80`, `udp/53`, `icmp`. */
export const portLabel = (p: MatrixPort): string =>
  p.protocol === "icmp" ? "icmp" : `${p.protocol}/${String(p.port)}`;

/**
 * `--port` values: each a comma-separated list of `PROTOCOL/PORT` (tcp, udp; case-insensitive) or `icmp` (an echo
 * request); duplicates once, in the order given.
 */
export function parsePorts(values: readonly string[]): MatrixPort[] {
  const out: MatrixPort[] = [];
  const seen = new Set<string>();
  for (const item of values.flatMap((v) => v.split(","))) {
    const text = item.trim().toLowerCase();
    if (text === "") continue;
    const m = /^([a-z]+)(?:\/(\d+))?$/.exec(text);
    const protocol = PROTOCOLS.find((p) => p === m?.[1]);
    if (m === null || protocol === undefined)
      throw new InputError(`--port "${item.trim()}" is not PROTOCOL/PORT (tcp/80, udp/53) or icmp`);
    let port = 0;
    if (protocol === "icmp") {
      if (m[2] !== undefined) throw new InputError(`--port "${item.trim()}": icmp takes no port`);
    } else {
      port = Number(m[2] ?? NaN);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new InputError(
          `--port "${item.trim()}": ${protocol} needs a port from 1 to 65535 (${protocol}/80)`,
        );
    }
    const p: MatrixPort = { protocol, port };
    if (!seen.has(portLabel(p))) out.push(p);
    seen.add(portLabel(p));
  }
  if (out.length === 0) throw new InputError("give at least one --port (tcp/80, udp/53, icmp)");
  return out;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `--from-namespace a,b` (repeatable): the names, each once, in order; invalid names are input errors. */
export function parseNamespaces(values: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (const item of values.flatMap((v) => v.split(","))) {
    const ns = item.trim();
    if (ns === "") continue;
    if (!DNS1123_LABEL.test(ns))
      throw new InputError(`${flag} "${ns}" is not a namespace name (lowercase letters, digits and '-')`);
    if (!out.includes(ns)) out.push(ns);
  }
  return out;
}

/** A label selector as kubectl's `-l` takes it (`app=web,tier in (a,b),!canary`); "" selects everything. */
export function parseSelector(text: string, flag: string): LabelRequirement[] {
  try {
    return parseLabelSelector(text);
  } catch (e) {
    throw new InputError(`${flag} "${text}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

function podIps(p: PodObject): string[] {
  const list = (p.status?.podIPs ?? []).map((x) => x.ip);
  return list.length > 0 ? list : p.status?.podIP === undefined ? [] : [p.status.podIP];
}

/** Why a pod the selectors chose has no place in the matrix, or its address of `family`. */
function podAddress(p: PodObject, family: Family | undefined): { ip: string } | { why: string } {
  if (p.spec?.hostNetwork === true)
    return { why: "host-network pod: it has its node's address, and NetworkPolicies do not apply to it" };
  if (p.spec?.nodeName === undefined) return { why: "not scheduled on a node" };
  const phase = p.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { why: `not running (phase ${phase})` };
  const ips = podIps(p);
  const ip = family === undefined ? ips[0] : ips.find((x) => parseIp(x)?.family === family);
  if (ip === undefined)
    return { why: ips.length === 0 ? "no IP address yet" : `no IPv${String(family)} address` };
  return { ip };
}

/** The family of the matrix: the one asked for, else that of the first pod's first address, else IPv4. */
export function matrixFamily(pods: readonly PodObject[], asked: Family | undefined): Family {
  if (asked !== undefined) return asked;
  for (const p of pods) {
    const f = parseIp(podIps(p)[0] ?? "")?.family;
    if (f !== undefined && p.spec?.hostNetwork !== true) return f;
  }
  return 4;
}

/** The pods of `namespaces` (in that order, then by name) the selector matches. */
export async function listSelectedPods(
  b: ClusterBackend,
  namespaces: readonly string[],
  selector: readonly LabelRequirement[],
): Promise<PodObject[]> {
  const lists = await Promise.all(namespaces.map((ns) => b.listPods(ns)));
  return lists.flatMap((list) =>
    list
      .filter((p) => matchesLabelSelector(selector, p.metadata?.labels))
      .sort((x, y) => (x.metadata?.name ?? "").localeCompare(y.metadata?.name ?? "")),
  );
}

/** The pods that make rows or columns, and those left out with why. */
export function matrixPods(
  pods: readonly PodObject[],
  family: Family,
): { pods: MatrixPod[]; skipped: MatrixSkipped[] } {
  const out: MatrixPod[] = [];
  const skipped: MatrixSkipped[] = [];
  for (const p of pods) {
    const namespace = p.metadata?.namespace ?? "default";
    const name = p.metadata?.name ?? "";
    const a = podAddress(p, family);
    if ("why" in a) skipped.push({ namespace, name, why: a.why });
    else
      out.push({
        kind: "pod",
        namespace,
        name,
        node: p.spec?.nodeName ?? "",
        ip: a.ip,
        labels: p.metadata?.labels ?? {},
      });
  }
  return { pods: out, skipped };
}

/** The Services of `namespaces` with a cluster IP of `family`, each with the matrix's ports it exposes. */
export async function matrixServices(
  b: ClusterBackend,
  namespaces: readonly string[],
  family: Family,
  ports: readonly MatrixPort[],
): Promise<MatrixService[]> {
  const lists = await Promise.all(namespaces.map((ns) => b.listServices(ns)));
  return lists.flatMap((list) =>
    [...list]
      .sort((x, y) => (x.metadata?.name ?? "").localeCompare(y.metadata?.name ?? ""))
      .flatMap((s): MatrixService[] => {
        const ip = clusterIp(s, family);
        const exposed = ports.flatMap((p, i) => (exposes(s, p) ? [i] : []));
        if (ip === undefined || exposed.length === 0) return [];
        return [
          {
            kind: "service",
            namespace: s.metadata?.namespace ?? "default",
            name: s.metadata?.name ?? "",
            ip,
            ports: exposed,
          },
        ];
      }),
  );
}

function clusterIp(s: ServiceObject, family: Family): string | undefined {
  const ips = s.spec?.clusterIPs ?? (s.spec?.clusterIP === undefined ? [] : [s.spec.clusterIP]);
  return ips.find((x) => x !== "None" && parseIp(x)?.family === family);
}

const exposes = (s: ServiceObject, p: MatrixPort): boolean =>
  p.protocol !== "icmp" &&
  (s.spec?.ports ?? []).some((x) => x.port === p.port && (x.protocol ?? "TCP").toLowerCase() === p.protocol);
