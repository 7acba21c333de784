import type { ClusterBackend } from "../cluster/backend.js";
import { ProcessError } from "../errors.js";
import { describeFailure } from "../cluster/backend.js";
import { execBatch, shellLine } from "../cluster/exec-batch.js";

/** One OVS interface of a node, as ovs-vsctl and dpif/show describe it. */
export interface NodeInterface {
  readonly name: string;
  readonly bridge?: string;
  readonly ofport?: number;
  /** Datapath (odp) port number, what `Datapath actions` print. */
  readonly odpPort?: number;
  readonly type: string;
  /** external_ids:iface-id: the logical port bound to it. */
  readonly ifaceId?: string;
  /** options:remote_ip of a tunnel port. */
  readonly remoteIp?: string;
}

/** What the OpenFlow tracer needs to know about a node's OVS, read once per run. */
export interface NodeView {
  readonly node: string;
  readonly interfaces: readonly NodeInterface[];
  /** Encapsulation IP → chassis hostname (node name), from this node's zone SB. */
  readonly encapNodes: ReadonlyMap<string, string>;
}

type OvsdbJsonValue = string | number | boolean | readonly [string, unknown];

function mapOf(v: unknown): Record<string, string> {
  const pairs = Array.isArray(v) && v[0] === "map" && Array.isArray(v[1]) ? (v[1] as [string, string][]) : [];
  return Object.fromEntries(pairs);
}

function atom(v: unknown): string | number | undefined {
  if (typeof v === "string" || typeof v === "number") return v;
  if (Array.isArray(v) && v[0] === "set" && Array.isArray(v[1]) && v[1].length === 1)
    return atom((v[1] as unknown[])[0]);
  if (Array.isArray(v) && v[0] === "uuid") return String(v[1]);
  return undefined;
}

function setOf(v: unknown): string[] {
  if (Array.isArray(v) && v[0] === "set" && Array.isArray(v[1]))
    return (v[1] as unknown[]).map((x) => String(atom(x)));
  const a = atom(v);
  return a === undefined ? [] : [String(a)];
}

function tableRows(stdout: string, what: string): Record<string, unknown>[] {
  let parsed: { headings?: string[]; data?: OvsdbJsonValue[][] };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new ProcessError(`${what}: not the JSON table ovs-vsctl/ovn-sbctl --format=json prints`);
  }
  const headings = parsed.headings ?? [];
  return (parsed.data ?? []).map((row) => Object.fromEntries(headings.map((h, i) => [h, row[i]])));
}

/** `ovs-appctl dpif/show`: interface name → datapath port number, per bridge. */
export function parseDpifShow(text: string): Map<string, { bridge: string; odpPort: number | undefined }> {
  const out = new Map<string, { bridge: string; odpPort: number | undefined }>();
  let bridge = "";
  for (const line of text.split("\n")) {
    const b = /^ {2}(\S+):$/.exec(line);
    if (b) {
      bridge = b[1] ?? "";
      continue;
    }
    const p = /^ {4}(\S+) \d+\/(\d+|none):/.exec(line);
    if (p) out.set(p[1] ?? "", { bridge, odpPort: p[2] === "none" ? undefined : Number(p[2]) });
  }
  return out;
}

/** Reads a node's interfaces, datapath ports and the encap IPs its SB knows (one exec). */
export async function loadNodeView(b: ClusterBackend, node: string): Promise<NodeView> {
  const results = await execBatch(
    b,
    node,
    [
      ["ovs-vsctl", "--format=json", "--columns=name,ofport,type,external_ids,options", "list", "interface"],
      ["ovs-appctl", "dpif/show"],
      ["ovn-sbctl", "--format=json", "--columns=hostname,encaps", "list", "chassis"],
      ["ovn-sbctl", "--format=json", "--columns=_uuid,ip", "list", "encap"],
    ].map(shellLine),
  );
  const failed = results.find((r) => r.exitCode !== 0);
  if (failed !== undefined) throw new ProcessError(`on node ${node}: ${describeFailure(failed)}`);
  const [ifaces, dpif, chassis, encaps] = results.map((r) => r.stdout) as [string, string, string, string];
  const odp = parseDpifShow(dpif);
  const interfaces = tableRows(ifaces, "ovs-vsctl list interface").map((r): NodeInterface => {
    const name = String(atom(r.name) ?? "");
    const ids = mapOf(r.external_ids);
    const opts = mapOf(r.options);
    const ofport = atom(r.ofport);
    const d = odp.get(name);
    return {
      name,
      type: String(atom(r.type) ?? ""),
      ...(typeof ofport === "number" && ofport > 0 ? { ofport } : {}),
      ...(d === undefined ? {} : { bridge: d.bridge }),
      ...(d?.odpPort === undefined ? {} : { odpPort: d.odpPort }),
      ...(ids["iface-id"] === undefined ? {} : { ifaceId: ids["iface-id"] }),
      ...(opts.remote_ip === undefined ? {} : { remoteIp: opts.remote_ip }),
    };
  });
  const encapIp = new Map(
    tableRows(encaps, "ovn-sbctl list encap").map((r) => [String(atom(r._uuid)), String(atom(r.ip))]),
  );
  const encapNodes = new Map<string, string>();
  for (const r of tableRows(chassis, "ovn-sbctl list chassis")) {
    for (const e of setOf(r.encaps)) {
      const ip = encapIp.get(e);
      if (ip !== undefined) encapNodes.set(ip, String(atom(r.hostname) ?? ""));
    }
  }
  return { node, interfaces, encapNodes };
}
