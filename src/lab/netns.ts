import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { ProcessError } from "../errors.js";
import { run } from "../ovs/exec.js";
import type { LabCluster } from "./cluster.js";
import { describeFailure, type ExecResult } from "../cluster/backend.js";
import { mgmtLinkName } from "../cluster/mgmt-link.js";

/**
 * One Linux network namespace per lab node: the node's host network as far as the tracer looks at
 * it (`ip -j link` sees the management links ovn-kubernetes creates). The OVS/OVN daemons stay in
 * the root namespace; their unix sockets are reachable from any network namespace.
 */

/** Where iproute2 keeps named network namespaces. */
const NETNS_DIR = "/run/netns";
const DEFAULT_MGMT_LINK = "ovn-k8s-mp0";

export interface LabNetns {
  readonly node: string;
  readonly name: string;
}

/** `otl-<8 hex of the lab dir>-`: every network namespace of the lab in `dir` starts with it. */
export function netnsPrefix(dir: string): string {
  return `otl-${createHash("sha1").update(resolve(dir)).digest("hex").slice(0, 8)}-`;
}

export function netnsName(dir: string, nodeIndex: number): string {
  return `${netnsPrefix(dir)}${nodeIndex}`;
}

/** The host links of a node: the default network's management port and one per user-defined network. */
export function nodeLinks(c: LabCluster): string[] {
  return [DEFAULT_MGMT_LINK, ...c.userDefinedNetworks.map((u) => mgmtLinkName(u.id))];
}

/**
 * Kinds of link that stand for a management port, best first: on a real node it is an OVS internal
 * port, which needs the kernel datapath; any link with a name and an ifindex does for `ip link`.
 * Some kernels (minimal VMs) have no `dummy`; `ifb` is as inert.
 */
const LINK_KINDS = ["dummy", "ifb"] as const;
let linkKind: (typeof LINK_KINDS)[number] | undefined;

function ip(argv: readonly string[], input?: string): Promise<ExecResult> {
  return run(["ip", ...argv], { timeoutMs: 10_000, ...(input === undefined ? {} : { input }) });
}

function setupFailed(r: ExecResult): ProcessError {
  return new ProcessError(`network namespace setup failed: ${describeFailure(r)}`, {
    hint: "the lab needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2 (`ip netns`)",
  });
}

/** A link of a node's namespace: its name, or its name and a fixed ifindex (which then numbers no other link). */
export type NodeLink = string | { readonly name: string; readonly index: number };

/** `lo` and the links, up, then `config` (addresses, routes); in one `ip -batch` (setting `lo` up twice is harmless). */
async function addLinks(netns: string, links: readonly NodeLink[], config: readonly string[]): Promise<void> {
  for (const kind of linkKind === undefined ? LINK_KINDS : [linkKind]) {
    const batch = [
      "link set lo up",
      ...links.flatMap((l) => {
        const [name, index] = typeof l === "string" ? [l, ""] : [l.name, ` index ${String(l.index)}`];
        return [`link add ${name}${index} type ${kind}`, `link set ${name} up`];
      }),
      ...config,
    ];
    const r = await ip(["-n", netns, "-batch", "-"], `${batch.join("\n")}\n`);
    if (r.exitCode === 0) {
      linkKind = kind;
      return;
    }
    // `ip -batch` stops at the first failing line: no link was added when the kind is unknown.
    if (!/Unknown device type/.test(r.stderr) || kind === LINK_KINDS.at(-1)) throw setupFailed(r);
  }
}

/** Creates (anew) a network namespace with `lo` and the given links, all up, then `config` (`ip -batch` lines). */
export async function createNetns(
  name: string,
  links: readonly NodeLink[],
  config: readonly string[] = [],
): Promise<void> {
  if (existsSync(`${NETNS_DIR}/${name}`)) await deleteNetns(name);
  const r = await ip(["netns", "add", name]);
  if (r.exitCode !== 0) throw setupFailed(r);
  await addLinks(name, links, config);
}

/** Deletes a network namespace; one that does not exist is not an error. Returns whether it existed. */
export async function deleteNetns(name: string): Promise<boolean> {
  if (!existsSync(`${NETNS_DIR}/${name}`)) return false;
  const r = await run(["ip", "netns", "delete", name], { timeoutMs: 10_000, cleanup: true });
  if (r.exitCode !== 0 && existsSync(`${NETNS_DIR}/${name}`))
    throw new ProcessError(`cannot delete network namespace ${name}: ${describeFailure(r)}`);
  return true;
}

/** Network namespaces of the lab in `dir` that exist now (also those a crashed `up` did not record). */
export function existingNetns(dir: string): string[] {
  const prefix = netnsPrefix(dir);
  try {
    return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** argv run inside a network namespace. */
export function inNetns(name: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", name, ...argv];
}
