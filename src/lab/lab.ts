import { DEFAULT_LAB_DIR } from "./defaults.js";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { InputError, LabStateError, OvnkTraceError, ProcessError } from "../errors.js";
import {
  ctlSocket,
  dirEnv,
  isInside,
  isOurs,
  runOk,
  startDaemon,
  stopAllUnder,
  stopDaemon,
  type DaemonRecord,
  type OvnDbs,
} from "../ovs/daemon.js";
import { run } from "../ovs/exec.js";
import { onInterrupt } from "../ovs/interrupt.js";
import { unixctlCall } from "../ovs/unixctl.js";
import { renewTunnelNeighbours, type TunnelNeighbour } from "../ovs/tunnel-neighbours.js";
import { checkLabFits, labBudgetMs } from "./budget.js";
import { pool, waitFor } from "./wait.js";
import { dockerMac, type LabCluster, type LabNode } from "./cluster.js";
import { sharedGatewayFlows } from "./gateway-flows.js";
import { egressIPGatewayFlows } from "./egress-ip-gateway-flows.js";
import { kubernetesObjects } from "./kubernetes.js";
import { labLayout, longestSocketPath, zones, type LabLayout } from "./layout.js";
import {
  createNetns,
  deleteNetns,
  existingNetns,
  netnsPrefix,
  inNetns,
  netnsName,
  nodeLinks,
  type LabNetns,
} from "./netns.js";
import { enableForwarding, HOST_UPLINK_LINKS, hostNetworkBatch } from "./host-network.js";
import { networkPolicies } from "./network-policy.js";
import { egressIPs } from "./egress-ip-northbound.js";
import { egressFirewalls } from "./egress-firewall.js";
import {
  clusterRouter,
  EXTERNAL_BRIDGE,
  JOIN_ROUTER_MAC,
  joinRouterIp,
  localNode,
  PHYSNET,
  pods as podPorts,
  remoteNode,
  services,
} from "./northbound.js";
import { remoteNetworkPorts, udnIsolation, userDefinedNetworks } from "./udn-northbound.js";
import { CtlBatch, kv, quote } from "./ovsdb-batch.js";
import type { NetworkPolicySpec } from "./scenario.js";
import type { ExecResult } from "../cluster/backend.js";

const OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";
const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";
const SB_SCHEMA = "/usr/share/ovn/ovn-sb.ovsschema";

export type DaemonRole =
  "nb" | "sb" | "northd" | "ovsdb-server" | "ovs-vswitchd" | "ovn-controller" | "fabric";

export interface LabDaemon extends DaemonRecord {
  readonly role: DaemonRole;
  /** Node or zone the daemon belongs to ("fabric" for the underlay switch). */
  readonly owner: string;
}

/** What `lab up` leaves in `<dir>/lab.json`: enough for any later process to use and stop the lab. */
export interface LabState {
  readonly version: 1;
  readonly dir: string;
  readonly scenarioFile?: string;
  phase: "starting" | "up";
  readonly cluster: LabCluster;
  readonly daemons: LabDaemon[];
  /** Each node's network namespace (absent in state files of labs from before they existed). */
  readonly netns?: readonly LabNetns[];
  readonly timingsMs: Record<string, number>;
}

export type Progress = (step: string, ms: number) => void;

export function readLabState(dir: string): LabState | undefined {
  const file = labLayout(dir).stateFile;
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LabState;
  } catch (e) {
    throw new LabStateError(`${file} is not a lab state file`, {
      cause: e,
      hint: `remove ${dir} if no lab daemons run from it`,
    });
  }
}

function writeState(s: LabState): void {
  writeFileSync(labLayout(s.dir).stateFile, JSON.stringify(s, null, 2));
}

/** Daemons of the lab that are not running any more. */
export function deadDaemons(s: LabState): LabDaemon[] {
  return s.daemons.filter((d) => !isOurs(d));
}

/** The environment in which `ovs-vsctl`, `ovs-appctl`, `ovn-nbctl`, `ovn-trace`... act on one lab node. */
export function nodeEnv(s: LabState, node: string): NodeJS.ProcessEnv {
  const n = findNode(s.cluster, node);
  const l = labLayout(s.dir);
  return dirEnv(l.node(n.name), l.dbs(n.zone));
}

/** A lab node's tunnel neighbours: every other node's underlay IP and MAC, on breth0. */
export function tunnelNeighboursOf(c: LabCluster, node: string): TunnelNeighbour[] {
  return c.nodes
    .filter((m) => m.name !== node)
    .map((m) => ({ bridge: EXTERNAL_BRIDGE, ip: m.ip, mac: m.mac }));
}

/** Renews a lab node's tunnel neighbours (see renewTunnelNeighbours): before traces or probes on it. */
export async function renewLabTunnelNeighbours(s: LabState, node: string): Promise<void> {
  const d = s.daemons.find((x) => x.owner === node && x.role === "ovs-vswitchd");
  if (d !== undefined) await renewTunnelNeighbours(ctlSocket(d), tunnelNeighboursOf(s.cluster, node), 10_000);
}

export function findNode(c: LabCluster, name: string): LabNode {
  const n = c.nodes.find((x) => x.name === name);
  if (n === undefined) {
    throw new InputError(`unknown node "${name}"`, {
      hint: `lab nodes: ${c.nodes.map((x) => x.name).join(", ")}`,
    });
  }
  return n;
}

/** The network namespace a node's commands run in (undefined for a lab from before netns). */
export function nodeNetns(s: LabState, node: string): string | undefined {
  return s.netns?.find((x) => x.node === node)?.name;
}

/** Runs one command in a lab node's environment and network namespace (argv, never a shell string). */
export function runOnNode(
  s: LabState,
  node: string,
  argv: readonly string[],
  timeoutMs = 30_000,
  input?: string,
): Promise<ExecResult> {
  const env = nodeEnv(s, node);
  const ns = nodeNetns(s, node);
  return run(ns === undefined ? argv : inNetns(ns, argv), {
    env,
    timeoutMs,
    ...(input === undefined ? {} : { input }),
  });
}

class Starter {
  readonly l: LabLayout;
  readonly state: LabState;
  readonly netns: LabNetns[] = [];
  /** The longest any wait or command of this lab may take (labBudgetMs). */
  readonly budgetMs: number;
  constructor(
    readonly c: LabCluster,
    dir: string,
    scenarioFile: string | undefined,
    /** Aborted when the process is interrupted: start nothing more. */
    readonly signal?: AbortSignal,
    /** A line about a wait under way (for a terminal). */
    readonly note?: (line: string) => void,
  ) {
    this.budgetMs = labBudgetMs(c);
    this.l = labLayout(dir);
    this.state = {
      version: 1,
      dir,
      ...(scenarioFile === undefined ? {} : { scenarioFile }),
      phase: "starting",
      cluster: c,
      daemons: [],
      netns: this.netns,
      timingsMs: {},
    };
  }

  async daemon(
    role: DaemonRole,
    owner: string,
    program: string,
    args: string[],
    dir: string,
    dbs: OvnDbs = {},
  ) {
    const d = await startDaemon(program, args, dir, dbs, this.signal);
    this.state.daemons.push({ ...d, role, owner });
    writeState(this.state);
    return d;
  }

  async ovsdb(
    role: "nb" | "sb" | "ovsdb-server" | "fabric",
    owner: string,
    dir: string,
    file: string,
    schema: string,
    sock: string,
  ) {
    mkdirSync(dir, { recursive: true });
    await runOk(["ovsdb-tool", "create", join(dir, file), schema], dir);
    await this.daemon(role, owner, "ovsdb-server", [`--remote=punix:${sock}`, join(dir, file)], dir);
  }

  async zone(zone: string): Promise<void> {
    const dbs = this.l.dbs(zone);
    const nbDir = this.l.zone(zone, "nb");
    const sbDir = this.l.zone(zone, "sb");
    await Promise.all([
      this.ovsdb("nb", zone, nbDir, "ovnnb_db.db", NB_SCHEMA, dbs.nb.slice(5)),
      this.ovsdb("sb", zone, sbDir, "ovnsb_db.db", SB_SCHEMA, dbs.sb.slice(5)),
    ]);
    await Promise.all([
      runOk(["ovn-nbctl", "init", "--", "set", "NB_Global", ".", `name=${quote(zone)}`], nbDir, dbs),
      runOk(["ovn-sbctl", "init"], sbDir, dbs),
    ]);
    await this.daemon(
      "northd",
      zone,
      "ovn-northd",
      [`--ovnnb-db=${dbs.nb}`, `--ovnsb-db=${dbs.sb}`],
      this.l.zone(zone, "northd"),
    );
  }

  async fabric(): Promise<void> {
    const dir = this.l.fabric;
    await this.ovsdb("ovsdb-server", "fabric", dir, "conf.db", OVS_SCHEMA, join(dir, "db.sock"));
    await runOk(["ovs-vsctl", "--no-wait", "init"], dir);
    await this.daemon(
      "ovs-vswitchd",
      "fabric",
      "ovs-vswitchd",
      ["--enable-dummy=system", "-vvconn:off"],
      dir,
    );
    // The underlay L2 network (kind's docker bridge): a NORMAL switch with one wire per node.
    const b = new CtlBatch().add("add-br", "kind");
    for (const [i] of this.c.nodes.entries()) {
      b.add("add-port", "kind", `wire${i}`).add(
        "set",
        "interface",
        `wire${i}`,
        kv("options", "pstream", `punix:${this.l.fabricSocket(i)}`),
      );
    }
    await runOk(b.argv("ovs-vsctl", ["--timeout=20"]), dir);
  }

  /** Recorded before it exists, so that any later `down` deletes it. */
  async hostNetns(n: LabNode, i: number): Promise<void> {
    const name = netnsName(this.state.dir, i);
    this.netns.push({ node: n.name, name });
    writeState(this.state);
    await createNetns(name, [...nodeLinks(this.c), ...HOST_UPLINK_LINKS], hostNetworkBatch(this.c, n));
    await enableForwarding(name, n.name);
  }

  async node(n: LabNode, i: number): Promise<void> {
    await this.hostNetns(n, i);
    const dir = this.l.node(n.name);
    const pcap = this.l.pcapDir(n.name);
    mkdirSync(pcap, { recursive: true });
    const dbs = this.l.dbs(n.zone);
    await this.ovsdb("ovsdb-server", n.name, dir, "conf.db", OVS_SCHEMA, join(dir, "db.sock"));
    await runOk(["ovs-vsctl", "--no-wait", "init"], dir);
    // --enable-dummy=system: the system datapath and netdevs become userspace dummies; no kernel interface.
    const vswitchd = await this.daemon(
      "ovs-vswitchd",
      n.name,
      "ovs-vswitchd",
      ["--enable-dummy=system", "-vvconn:off"],
      dir,
    );
    const b = new CtlBatch()
      .add("add-br", EXTERNAL_BRIDGE)
      .add("set", "bridge", EXTERNAL_BRIDGE, kv("other-config", "hwaddr", n.mac))
      .add("add-port", EXTERNAL_BRIDGE, "eth0")
      .add(
        "set",
        "interface",
        "eth0",
        kv("options", "stream", `unix:${this.l.fabricSocket(i)}`),
        kv("options", "tx_pcap", join(pcap, "eth0-tx.pcap")),
        kv("options", "rxq_pcap", join(pcap, "eth0-rx.pcap")),
      )
      .add(
        "set",
        "open_vswitch",
        ".",
        kv("external-ids", "hostname", n.name),
        kv("external-ids", "system-id", n.chassisId),
        kv("external-ids", "ovn-remote", dbs.sb),
        kv("external-ids", "ovn-encap-type", "geneve"),
        kv("external-ids", "ovn-encap-ip", n.ip),
        kv("external-ids", "ovn-bridge-mappings", `${PHYSNET}:${EXTERNAL_BRIDGE}`),
        kv("external-ids", "ovn-monitor-all", "true"),
        kv("external-ids", "ovn-is-interconn", String(this.c.shape === "interconnect")),
      )
      .add("add-br", "br-int")
      .add("set", "bridge", "br-int", "fail-mode=secure", kv("other-config", "disable-in-band", "true"));
    const port = (iface: string, ids: Record<string, string>): void => {
      b.add("add-port", "br-int", iface).add(
        "set",
        "interface",
        iface,
        ...Object.entries(ids).map(([k, v]) => kv("external-ids", k, v)),
        kv("options", "tx_pcap", join(pcap, `${iface}-tx.pcap`)),
        kv("options", "rxq_pcap", join(pcap, `${iface}-rx.pcap`)),
      );
    };
    port("ovn-k8s-mp0", { "iface-id": `k8s-${n.name}` });
    for (const p of this.c.pods) {
      if (p.node !== n.name || p.hostNetwork) continue;
      port(p.iface, {
        "iface-id": p.lsp,
        "iface-id-ver": p.uid,
        attached_mac: p.mac,
        ip_addresses: this.c.families.flatMap((f) => (p.ips[f] === undefined ? [] : [p.ips[f]])).join(","),
        sandbox: p.iface,
        "iface-status": "active",
      });
      const pn = p.primaryNetwork;
      if (pn !== undefined)
        port(pn.iface, {
          "iface-id": pn.lsp,
          "iface-id-ver": p.uid,
          attached_mac: pn.mac,
          ip_addresses: this.c.families
            .flatMap((f) => (pn.ips[f] === undefined ? [] : [pn.ips[f]]))
            .join(","),
          sandbox: p.iface,
          "iface-status": "active",
        });
    }
    const secs = Math.ceil(this.budgetMs / 1000);
    for (const argv of b.argvChunks("ovs-vsctl", [`--timeout=${String(secs)}`]))
      await runOk(argv, dir, {}, this.budgetMs + 5000);
    // Runtime-only underlay state (not in conf.db): the node IP on breth0 and its route,
    // and, as ovnkube-node's gateway flows do, geneve to the node IP always ends on the host.
    const prefix = this.c.underlay.cidr.split("/")[1] ?? "16";
    const appctl = (...cmd: [string, ...string[]]): Promise<void> => this.appctl(vswitchd, ...cmd);
    await appctl("netdev-dummy/ip4addr", EXTERNAL_BRIDGE, `${n.ip}/${prefix}`);
    await appctl("ovs/route/add", `${n.ip}/${prefix}`, EXTERNAL_BRIDGE);
    await runOk(
      [
        "ovs-ofctl",
        "add-flow",
        EXTERNAL_BRIDGE,
        `priority=100,in_port=eth0,udp,nw_dst=${n.ip},tp_dst=6081,actions=LOCAL`,
      ],
      dir,
    );
    await renewTunnelNeighbours(ctlSocket(vswitchd), tunnelNeighboursOf(this.c, n.name), this.budgetMs);
    // Started before the NB is written: every chassis that registers makes every other ovn-controller
    // recompute its flows, which costs little while there are none yet (started once the SB was complete,
    // 25 central nodes came up slower).
    await this.daemon("ovn-controller", n.name, "ovn-controller", [], dir, dbs);
  }

  /** One unixctl command of a daemon we started (as ovs-appctl, without a process per command). */
  async appctl(d: DaemonRecord, method: string, ...params: string[]): Promise<void> {
    const r = await unixctlCall(ctlSocket(d), method, params, this.budgetMs);
    if (!r.ok) throw new ProcessError(`${d.program} ${method} ${params.join(" ")}: ${r.error}`);
  }

  private zoneDaemon(zone: string, role: DaemonRole): LabDaemon {
    const d = this.state.daemons.find((x) => x.owner === zone && x.role === role);
    if (d === undefined) throw new ProcessError(`internal: zone ${zone} has no ${role}`);
    return d;
  }

  /** Interconnect: the other nodes' chassis, as ovnkube-controller writes them into this zone's SB. */
  async remoteChassis(zone: string, local: readonly LabNode[]): Promise<void> {
    const b = new CtlBatch();
    for (const m of this.c.nodes) {
      if (local.includes(m)) continue;
      const id = `@e${m.nodeId}`;
      b.add(
        `--id=${id}`,
        "create",
        "encap",
        "type=geneve",
        `ip=${quote(m.ip)}`,
        `chassis_name=${quote(m.chassisId)}`,
        kv("options", "csum", "true"),
      );
      b.add(
        "create",
        "chassis",
        `name=${quote(m.chassisId)}`,
        `hostname=${quote(m.name)}`,
        `encaps=${id}`,
        kv("other_config", "is-remote", "true"),
      );
    }
    if (b.size > 0) await this.ctl("ovn-sbctl", b, this.l.zone(zone, "sb"), this.l.dbs(zone));
  }

  /** A batch as few transactions as the argv limit allows, each with the lab's budget as its timeout. */
  async ctl(program: string, b: CtlBatch, dir: string, dbs: OvnDbs): Promise<void> {
    const secs = Math.ceil(this.budgetMs / 1000);
    for (const argv of b.argvChunks(program, [`--timeout=${String(secs)}`]))
      await runOk(argv, dir, dbs, this.budgetMs + 5000);
  }

  async northbound(zone: string, local: readonly LabNode[]): Promise<void> {
    const dbs = this.l.dbs(zone);
    const dir = this.l.zone(zone, "nb");
    const names = new Set(local.map((n) => n.name));
    const topo = new CtlBatch();
    clusterRouter(this.c, topo);
    for (const n of local) localNode(this.c, n, topo);
    for (const n of this.c.nodes)
      if (this.c.shape === "interconnect" && !names.has(n.name)) remoteNode(this.c, n, topo);
    podPorts(this.c, names, topo);
    userDefinedNetworks(this.c, names, topo);
    services(this.c, local, topo);
    // northd waits while the NB is written (in several transactions at scale), then computes it once
    const northd = this.zoneDaemon(zone, "northd");
    await this.appctl(northd, "pause");
    await this.ctl("ovn-nbctl", topo, dir, dbs);
    const pol = new CtlBatch();
    networkPolicies(this.c, names, pol);
    udnIsolation(this.c, local, pol);
    egressIPs(this.c, names, pol);
    if (pol.size > 0) await this.ctl("ovn-nbctl", pol, dir, dbs);
    // EgressFirewalls in a transaction of their own: their ACL ids (@acl<n>) are numbered from 0 again
    const ef = new CtlBatch();
    egressFirewalls(this.c, names, ef);
    if (ef.size > 0) await this.ctl("ovn-nbctl", ef, dir, dbs);
    await this.appctl(northd, "resume");
    await this.nbSync(zone, "sb");
    // What the gateway routers would have learned from ARP replies on the underlay (its gateway
    // and the other nodes); ovn-trace reads only SB MAC_Binding, and ofproto/trace cannot ARP.
    const sb = new CtlBatch();
    const datapaths = await this.sbUuids(zone, "datapath_binding", "name");
    const chassis = await this.sbUuids(zone, "chassis");
    for (const n of local) {
      const dp = this.uuidOf(zone, datapaths, "datapath_binding", `GR_${n.name}`);
      // the gateway's IPv6 address answers from the same host (the same MAC); the nodes' IPv6 from breth0's
      const gw = this.c.underlay;
      const neighbours = [
        { ip: gw.gateway, mac: dockerMac(gw.gateway) },
        ...(gw.gatewayV6 === undefined ? [] : [{ ip: gw.gatewayV6, mac: dockerMac(gw.gateway) }]),
        ...this.c.nodes
          .filter((m) => m.name !== n.name)
          .flatMap((m) => [
            { ip: m.ip, mac: m.mac },
            ...(m.ipv6 === undefined ? [] : [{ ip: m.ipv6, mac: m.mac }]),
          ]),
      ];
      for (const nb of neighbours) {
        sb.add(
          "create",
          "mac_binding",
          `datapath=${dp}`,
          `logical_port=rtoe-GR_${n.name}`,
          `ip=${quote(nb.ip)}`,
          `mac=${quote(nb.mac)}`,
        );
      }
      // and its neighbours on the join switch (dynamic_neigh_routers): the cluster router, and on a central
      // cluster the other gateway routers (a pod's reply to a NodePort client SNATed to another node's join IP
      // goes out through its own node's gateway router, its src-ip route being longer than the join network).
      // Without them the first such packet waits for ARP in ovn-controller, whose re-injection commits it again
      // in the load balancer's zone (a source port shift).
      const join = [
        ...this.c.families.map((f) => ({ ip: joinRouterIp(f), mac: JOIN_ROUTER_MAC })),
        ...(this.c.shape === "central" ? this.c.nodes.filter((m) => m.name !== n.name) : []).flatMap((m) =>
          this.c.families.flatMap((f) =>
            m.joinIps[f] === undefined ? [] : [{ ip: m.joinIps[f], mac: m.joinMac }],
          ),
        ),
      ];
      for (const nb of join)
        sb.add(
          "create",
          "mac_binding",
          `datapath=${dp}`,
          `logical_port=rtoj-GR_${n.name}`,
          `ip=${quote(nb.ip)}`,
          `mac=${quote(nb.mac)}`,
        );
    }
    // OVN before 23.09 leaves remote ports unbound; ovnkube-controller binds them to the remote chassis.
    for (const m of this.c.nodes) {
      if (this.c.shape !== "interconnect" || names.has(m.name)) continue;
      const ch = this.uuidOf(zone, chassis, "chassis", m.chassisId);
      for (const port of [`tstor-${m.name}`, ...remoteNetworkPorts(this.c, m.name)])
        sb.add("set", "port_binding", port, `chassis=${ch}`);
    }
    await this.ctl("ovn-sbctl", sb, this.l.zone(zone, "sb"), dbs);
  }

  /**
   * The rows of an SB table by name (its `name` column, or the `name` key of its external_ids): one query for
   * all of them, not one per node.
   */
  private async sbUuids(zone: string, table: string, externalIdsKey?: string): Promise<Map<string, string>> {
    const column = externalIdsKey === undefined ? "name" : "external_ids";
    const r = await runOk(
      [
        "ovn-sbctl",
        `--timeout=${String(Math.ceil(this.budgetMs / 1000))}`,
        "--format=json",
        `--columns=_uuid,${column}`,
        "list",
        table,
      ],
      this.l.zone(zone, "sb"),
      this.l.dbs(zone),
      this.budgetMs + 5000,
    );
    const rows = (JSON.parse(r.stdout) as { data: [[string, string], unknown][] }).data;
    const names = new Map<string, string>();
    for (const [[, uuid], value] of rows) {
      const name =
        externalIdsKey === undefined
          ? value
          : (value as [string, [string, string][]])[1].find(([k]) => k === externalIdsKey)?.[1];
      if (typeof name === "string") names.set(name, uuid);
    }
    return names;
  }

  private uuidOf(zone: string, rows: ReadonlyMap<string, string>, table: string, name: string): string {
    const uuid = rows.get(name);
    if (uuid === undefined) throw new ProcessError(`zone ${zone}: no ${table} named ${name} in the SB`);
    return uuid;
  }

  /**
   * What `ovn-nbctl --wait=sb|hv sync` does, without its fixed timeout: bumps NB_Global nb_cfg, then waits until
   * northd (sb) or every chassis (hv) has caught up with it, for as long as they make progress (waitFor).
   */
  async nbSync(zone: string, level: "sb" | "hv"): Promise<void> {
    const dir = this.l.zone(zone, "nb");
    const dbs = this.l.dbs(zone);
    const nbctl = (...args: string[]): Promise<ExecResult> =>
      runOk(
        ["ovn-nbctl", `--timeout=${String(Math.ceil(this.budgetMs / 1000))}`, ...args],
        dir,
        dbs,
        this.budgetMs + 5000,
      );
    const cfg = Number((await nbctl("get", "NB_Global", ".", "nb_cfg")).stdout.trim()) + 1;
    await nbctl("set", "NB_Global", ".", `nb_cfg=${String(cfg)}`);
    const watch = this.state.daemons.filter(
      (d) =>
        (d.owner === zone && (d.role === "northd" || d.role === "sb" || d.role === "nb")) ||
        (level === "hv" &&
          d.role === "ovn-controller" &&
          this.c.nodes.some((n) => n.zone === zone && n.name === d.owner)),
    );
    const what =
      level === "sb"
        ? `zone ${zone}: ovn-northd computing the SB`
        : `zone ${zone}: ovn-controllers computing their flows`;
    await this.waitFor(what, watch, async () => {
      const r = await run(["ovn-nbctl", "get", "NB_Global", ".", `${level}_cfg`], {
        env: dirEnv(dir, dbs),
        timeoutMs: this.budgetMs,
      });
      return r.exitCode === 0 && Number(r.stdout.trim()) >= cfg;
    });
  }

  /** Waits for OVN as long as it makes progress, up to the lab's budget (wait.ts). */
  waitFor(what: string, watch: readonly LabDaemon[], check: () => Promise<boolean | string>): Promise<void> {
    return waitFor(
      what,
      watch.filter((d) => COMPUTES.has(d.role)),
      watch,
      check,
      {
        budgetMs: this.budgetMs,
        ...(this.note === undefined ? {} : { note: this.note }),
      },
    );
  }

  async ready(zone: string, local: readonly LabNode[]): Promise<void> {
    const dbs = this.l.dbs(zone);
    const sbDir = this.l.zone(zone, "sb");
    const controllers = this.state.daemons.filter(
      (d) => d.role === "ovn-controller" && local.some((n) => n.name === d.owner),
    );
    const zoneDbs = this.state.daemons.filter((d) => d.owner === zone && d.role !== "ovsdb-server");
    const watch = [...controllers, ...zoneDbs];
    const want = local.map((n) => n.chassisId);
    await this.waitFor(`zone ${zone}: chassis of ${String(local.length)} nodes`, watch, async () => {
      const r = await run(["ovn-sbctl", "--bare", "--columns=name", "list", "chassis"], {
        env: dirEnv(sbDir, dbs),
        timeoutMs: this.budgetMs,
      });
      const have = new Set(r.stdout.split("\n").map((x) => x.trim()));
      const n = want.filter((c) => have.has(c)).length;
      return n === want.length || `${String(n)}/${String(want.length)}`;
    });
    await this.nbSync(zone, "hv");
    const expectUp = new Set([
      ...local.map((n) => `k8s-${n.name}`),
      ...this.c.pods
        .filter((p) => !p.hostNetwork && local.some((n) => n.name === p.node))
        .flatMap((p) => [p.lsp, ...(p.primaryNetwork === undefined ? [] : [p.primaryNetwork.lsp])]),
    ]);
    await this.waitFor(`zone ${zone}: pod ports up`, watch, async () => {
      const r = await run(
        ["ovn-nbctl", "--format=csv", "--no-headings", "--columns=name,up", "list", "logical_switch_port"],
        {
          env: dirEnv(this.l.zone(zone, "nb"), dbs),
        },
      );
      const up = new Set(
        r.stdout
          .split("\n")
          .filter((l) => l.endsWith(",true"))
          .map((l) => l.split(",")[0]?.replace(/"/g, "")),
      );
      const n = [...expectUp].filter((p) => up.has(p)).length;
      return n === expectUp.size || `${String(n)}/${String(expectUp.size)} up`;
    });
    const tunnels = this.c.nodes.length - 1;
    await pool(local, POOL, async (n) => {
      const nodeWatch = this.state.daemons.filter((d) => d.owner === n.name);
      await this.waitFor(`node ${n.name}: ${String(tunnels)} geneve tunnels`, nodeWatch, async () => {
        const r = await run(["ovs-vsctl", "--bare", "--columns=ofport", "find", "interface", "type=geneve"], {
          env: dirEnv(this.l.node(n.name)),
          timeoutMs: this.budgetMs,
        });
        const up = r.stdout.split("\n").filter((x) => /^[1-9]\d*$/.test(x.trim())).length;
        return up === tunnels || `${String(up)}/${String(tunnels)}`;
      });
      await this.gatewayFlows(n);
    });
  }

  /** ovnkube-node's flows on breth0 (gateway-flows.ts), once ovn-controller made the patch port to br-int. */
  private async gatewayFlows(n: LabNode): Promise<void> {
    const dir = this.l.node(n.name);
    const patch = `patch-${EXTERNAL_BRIDGE}_${n.name}-to-br-int`;
    let ofport = 0;
    const watch = this.state.daemons.filter((d) => d.owner === n.name);
    await this.waitFor(`node ${n.name}: ${patch}`, watch, async () => {
      const r = await run(["ovs-vsctl", "--bare", "--columns=ofport", "find", "interface", `name=${patch}`], {
        env: dirEnv(dir),
        timeoutMs: this.budgetMs,
      });
      ofport = Number(r.stdout.trim());
      return Number.isInteger(ofport) && ofport > 0;
    });
    const file = join(dir, `${EXTERNAL_BRIDGE}.gateway-flows`);
    const flows = [
      ...sharedGatewayFlows(this.c, "eth0", ofport),
      ...egressIPGatewayFlows(this.c, n, "eth0", ofport),
    ];
    writeFileSync(file, `${flows.join("\n")}\n`);
    await runOk(["ovs-ofctl", "add-flows", EXTERNAL_BRIDGE, file], dir, {}, this.budgetMs);
  }
}

/** The daemons whose CPU time says OVN is still at work (the databases: the checks themselves keep them busy). */
const COMPUTES: ReadonlySet<DaemonRole> = new Set(["northd", "ovn-controller", "ovs-vswitchd"]);
/** How many nodes or zones are set up at a time: more only adds contention on a few cores. */
const POOL = 8;

export interface UpResult {
  readonly state: LabState;
  /** False when the same lab was already running and nothing was done. */
  readonly started: boolean;
}

/**
 * Brings a lab up from a resolved scenario. A running lab of the same scenario is a no-op; any
 * other running lab is an error; a half lab (some daemons dead) is torn down first. If starting
 * fails, everything started is stopped again: never a half lab.
 */
export async function labUp(
  c: LabCluster,
  dirGiven: string = DEFAULT_LAB_DIR,
  opts: { scenarioFile?: string; progress?: Progress; note?: (line: string) => void } = {},
): Promise<UpResult> {
  // absolute: the daemons' directories are recorded and recognised by it (isOurs), from any working directory
  const dir = resolve(dirGiven);
  const existing = readLabState(dir);
  if (existing !== undefined) {
    const dead = deadDaemons(existing);
    if (existing.phase === "up" && dead.length === 0) {
      if (JSON.stringify(existing.cluster) === JSON.stringify(c)) return { state: existing, started: false };
      throw new LabStateError(
        `a different lab (scenario "${existing.cluster.name}", ${existing.cluster.shape}) is running in ${dir}`,
        {
          hint: `stop it first with: ovnkube-trace lab down --dir ${dir}`,
        },
      );
    }
    if (existing.phase === "starting" && dead.length === 0 && lockHeld(dir)) {
      throw new LabStateError(`a lab is being started in ${dir} by another process`, {
        hint: "wait for it, or run lab down",
      });
    }
    await labDown(dir);
  } else if (existsSync(dir) && !isEmptyDir(dir)) {
    throw new LabStateError(`${dir} exists and is not a lab directory`, {
      hint: "choose another --dir or remove it",
    });
  }
  checkLabFits(c);
  const sock = longestSocketPath(dir, c);
  if (sock.length > 100) {
    throw new InputError(`lab directory ${dir} is too long for unix socket paths (${sock})`, {
      hint: "use a shorter --dir",
    });
  }
  mkdirSync(dir, { recursive: true });
  const lock = takeLock(dir);
  // interrupted (SIGINT/SIGTERM): start nothing more, stop whatever runs from the lab directory, remove it
  const interrupt = onInterrupt(() => labDown(dir));
  const s = new Starter(c, dir, opts.scenarioFile, interrupt.signal, opts.note);
  const t0 = performance.now();
  let t = t0;
  const step = (name: string): void => {
    const now = performance.now();
    s.state.timingsMs[name] = Math.round(now - t);
    opts.progress?.(name, Math.round(now - t));
    t = now;
  };
  try {
    writeState(s.state);
    const zs = zones(c);
    await settled([s.fabric(), pool(zs, POOL, (z) => s.zone(z.zone))]);
    step("databases and northd");
    await pool(c.nodes, POOL, (n, i) => s.node(n, i));
    step(`${String(c.nodes.length)} nodes (ovsdb-server, ovs-vswitchd, ovn-controller)`);
    await pool(zs, POOL, async (z) => {
      await s.remoteChassis(z.zone, z.nodes);
      await s.northbound(z.zone, z.nodes);
    });
    step("OVN topology, pods, services, network policies");
    await pool(zs, POOL, (z) => s.ready(z.zone, z.nodes));
    step("ports up, tunnels ready");
    writeFileSync(labLayout(dir).kubernetesFile, JSON.stringify(kubernetesObjects(c), null, 2));
    s.state.phase = "up";
    s.state.timingsMs.total = Math.round(performance.now() - t0);
    writeState(s.state);
    return { state: s.state, started: true };
  } catch (e) {
    await stopAll(s.state.daemons);
    // The error that made `up` fail matters more; a namespace left here goes with the next `down`.
    await removeNetns(dir, s.netns).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (e instanceof OvnkTraceError) throw e;
    throw new ProcessError("lab up failed; everything it started was stopped", { cause: e });
  } finally {
    interrupt.done();
    closeSync(lock);
  }
}

/** The owner types of the NB rows the lab writes for NetworkPolicies (network-policy.ts). */
const POLICY_OWNERS: Readonly<Record<string, readonly string[]>> = {
  port_group: ["NetworkPolicy", "NetpolNamespace"],
  address_set: ["PodSelector"],
};

/**
 * Gives a running lab another set of NetworkPolicies (`what-if`): in every zone, one NB transaction removes the
 * port groups (their ACLs go with them) and address sets the lab wrote for policies, and once northd has removed
 * their logical flows, another writes those of the new set exactly as `lab up` does (networkPolicies); then waits
 * until every ovn-controller has the flows, and rewrites kubernetes.json and lab.json. (In one transaction, northd
 * would keep the logical flows of ACLs written again unchanged with the stage-hint of the old row: drops named by
 * no ACL.) Restoring is the same call with the policies the lab had.
 */
export async function setLabNetworkPolicies(
  state: LabState,
  policies: readonly NetworkPolicySpec[],
): Promise<LabState> {
  const c: LabCluster = { ...state.cluster, networkPolicies: policies };
  const s = new Starter(c, state.dir, state.scenarioFile);
  s.state.daemons.push(...state.daemons);
  const secs = String(Math.ceil(s.budgetMs / 1000));
  for (const z of zones(c)) {
    const dir = s.l.zone(z.zone, "nb");
    const dbs = s.l.dbs(z.zone);
    const b = new CtlBatch();
    for (const [table, owners] of Object.entries(POLICY_OWNERS)) {
      const r = await runOk(
        ["ovn-nbctl", `--timeout=${secs}`, "--format=json", "--columns=_uuid,external_ids", "list", table],
        dir,
        dbs,
      );
      const rows = (JSON.parse(r.stdout) as { data: [[string, string], [string, [string, string][]]][] })
        .data;
      for (const [[, uuid], [, ids]] of rows) {
        const owner = ids.find(([k]) => k === "k8s.ovn.org/owner-type")?.[1];
        if (owner !== undefined && owners.includes(owner)) b.add("destroy", table, uuid);
      }
    }
    if (b.size > 0) {
      await s.ctl("ovn-nbctl", b, dir, dbs);
      await s.nbSync(z.zone, "sb");
    }
    const add = new CtlBatch();
    networkPolicies(c, new Set(z.nodes.map((n) => n.name)), add);
    if (add.size > 0) await s.ctl("ovn-nbctl", add, dir, dbs);
  }
  for (const z of zones(c)) await s.nbSync(z.zone, "hv");
  const next: LabState = { ...state, cluster: c };
  writeFileSync(labLayout(state.dir).kubernetesFile, JSON.stringify(kubernetesObjects(c), null, 2));
  writeState(next);
  return next;
}

/**
 * Like Promise.all, but waits for every step before rejecting: a failing `up` then cleans up after
 * steps that have finished, not while a sibling is still creating a daemon or a namespace.
 */
async function settled(steps: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/** Deletes the recorded network namespaces of a lab and any other carrying its prefix. */
/** The lab's network namespaces: those it recorded that carry its own prefix, and any left with that prefix. */
async function removeNetns(dir: string, recorded: readonly LabNetns[]): Promise<void> {
  const prefix = netnsPrefix(dir);
  const names = new Set([
    ...recorded.map((x) => x.name).filter((n) => n.startsWith(prefix)),
    ...existingNetns(dir),
  ]);
  await Promise.all([...names].map((n) => deleteNetns(n)));
}

function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

function takeLock(dir: string): number {
  const file = labLayout(dir).lockFile;
  try {
    const fd = openSync(file, "wx");
    writeFileSync(fd, String(process.pid));
    return fd;
  } catch {
    throw new LabStateError(`${dir} is locked by another lab command (${file})`, {
      hint: "wait for it to finish",
    });
  }
}

function lockHeld(dir: string): boolean {
  try {
    const pid = Number(readFileSync(labLayout(dir).lockFile, "utf8"));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Controllers first, databases last; each group in parallel. */
const STOP_ORDER: readonly DaemonRole[] = [
  "ovn-controller",
  "northd",
  "ovs-vswitchd",
  "ovsdb-server",
  "sb",
  "nb",
];

async function stopAll(daemons: readonly LabDaemon[]): Promise<number> {
  let stopped = 0;
  for (const role of STOP_ORDER) {
    const results = await Promise.all(daemons.filter((d) => d.role === role).map((d) => stopDaemon(d)));
    stopped += results.filter(Boolean).length;
  }
  return stopped;
}

/**
 * Stops every daemon of the lab by pid, deletes its network namespaces and removes its directory.
 * Returns how many daemons were running.
 */
export async function labDown(dirGiven: string = DEFAULT_LAB_DIR): Promise<number> {
  const dir = resolve(dirGiven);
  let s: LabState | undefined;
  try {
    s = readLabState(dir);
  } catch {
    // a state file cut short by an interrupted `up`: the pidfiles still say what runs
    s = undefined;
  }
  const isLab = s !== undefined || existsSync(labLayout(dir).lockFile);
  // only daemons started in this lab's directory (a forged state file cannot point elsewhere), recorded or not
  const recorded = (s?.daemons ?? []).filter((d) => isInside(d.dir, dir));
  const stopped = (await stopAll(recorded)) + (await stopAllUnder(dir));
  await removeNetns(dir, s?.netns ?? []);
  if (isLab || stopped > 0) rmSync(dir, { recursive: true, force: true });
  return stopped;
}
