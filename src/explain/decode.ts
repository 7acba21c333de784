import type { DecodedValue } from "../model/explanation.js";
import type { KubeObjectRef } from "../model/report.js";
import type { OvsdbAtom, OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import {
  externalIds,
  numberColumn,
  options,
  rowsByUuids,
  setColumn,
  stringColumn,
  stringMap,
  tableRows,
} from "../ovsdb/index.js";
import { hostPort, splitHostPort } from "../net/ip.js";
import { COOKIE_TABLES, rowByCookie } from "./ovn-index.js";
import {
  datapathMeaning,
  loadBalancerMeaning,
  natMeaning,
  nbRowMeaning,
  podOfLsp,
  portNameMeaning,
  type KubeMeaning,
} from "./owners.js";

/**
 * Names for the numbers of an OVS/OVN trace, from the zone's NB/SB and the node's OVS (each optional: what is
 * missing decodes to "unknown" with the raw value, never an error). The OVN side follows OVN 23.03's
 * ovn-architecture(7) "Logical fields" and "Tunnel Encapsulations": `metadata` and the Geneve VNI are the
 * SB Datapath_Binding tunnel_key; reg14/reg15 the logical in/out port (SB Port_Binding tunnel_key within that
 * datapath, or a Multicast_Group's from 32768 on); the Geneve option class 0x102 type 0x80 carries
 * `ingress key << 16 | egress key`; reg13 is the logical port's conntrack zone, reg11/reg12 the DNAT/SNAT zones
 * of a router (zones ovn-controller records in br-int's external_ids as `ct-zone-<port>` and
 * `ct-zone-<datapath uuid>_dnat|_snat`).
 */

/** An interface of the node's OVS, the bridge it is on and its OpenFlow port number. */
export interface OvsInterface {
  readonly name: string;
  readonly bridge?: string;
  readonly ofport?: number;
  readonly type?: string;
  /** external_ids:iface-id, the logical port bound to it. */
  readonly ifaceId?: string;
  /** options:remote_ip of a tunnel port. */
  readonly remoteIp?: string;
}

/** What the decoder needs of a node's OVS. */
export interface NodeOvs {
  readonly interfaces: readonly OvsInterface[];
  /** Conntrack zone → what ovn-controller allocated it for (`ct-zone-<key>` of br-int's external_ids). */
  readonly ctZones?: ReadonlyMap<number, string>;
  /** The integration bridge (Open_vSwitch external_ids:ovn-bridge, default br-int). */
  readonly integrationBridge?: string;
}

export interface DecodeSources {
  readonly nb?: OvsdbDatabase;
  readonly sb?: OvsdbDatabase;
  readonly node?: NodeOvs;
}

export interface DatapathInfo {
  readonly key: number;
  readonly uuid: string;
  readonly name?: string;
  readonly kind?: "switch" | "router";
  readonly meaning?: KubeMeaning;
}

/**
 * reg0 bits of the logical switch pipeline, as ovn-northd names them (`#define REGBIT_*` of northd/northd.c:
 * reg0[0..17] are the same in the stored upstream source and in what the installed 23.03 ovn-northd writes
 * into its logical flows and documents in ovn-northd(8)). They mean nothing in a router's pipeline, where
 * reg0 holds the next hop.
 */
export const SWITCH_REG0_BITS: Readonly<Record<number, readonly [string, string]>> = {
  0: ["REGBIT_CONNTRACK_DEFRAG", "send to conntrack before the ACLs"],
  1: ["REGBIT_CONNTRACK_COMMIT", "commit the connection to conntrack"],
  2: ["REGBIT_CONNTRACK_NAT", "send to conntrack for the load balancers, ct_lb_mark"],
  3: ["REGBIT_DHCP_OPTS_RESULT", "DHCP options put"],
  4: ["REGBIT_DNS_LOOKUP_RESULT", "DNS lookup answered"],
  5: ["REGBIT_ND_RA_OPTS_RESULT", "ND RA options put"],
  6: ["REGBIT_HAIRPIN", "load-balanced back to its own source (hairpin)"],
  7: ["REGBIT_ACL_HINT_ALLOW_NEW", "ACL hint: a new connection an allow-related ACL may commit"],
  8: ["REGBIT_ACL_HINT_ALLOW", "ACL hint: may match an allow ACL, no commit needed"],
  9: ["REGBIT_ACL_HINT_DROP", "ACL hint: may match a drop/reject ACL"],
  10: ["REGBIT_ACL_HINT_BLOCK", "ACL hint: an allowed connection a drop ACL may block"],
  11: ["REGBIT_LKUP_FDB", "source MAC found in the FDB"],
  12: ["REGBIT_HAIRPIN_REPLY", "reply of hairpinned load-balanced traffic"],
  13: ["REGBIT_ACL_LABEL", "commit the ACL's label (reg3) to conntrack"],
  14: ["REGBIT_FROM_RAMP", "received from a VTEP (ramp) port"],
  15: ["REGBIT_PORT_SEC_DROP", "port security: drop"],
  16: ["REGBIT_ACL_STATELESS", "matched an allow-stateless ACL: skip conntrack"],
  17: ["REGBIT_ACL_HINT_ALLOW_REL", "reply or related traffic of an allowed connection"],
};

const MULTICAST_KEY_MIN = 32768;

/** The NB tables a stage-hint is looked up in, in this order: those whose rows have a Kubernetes meaning. */
const HINT_TABLES = [
  "ACL",
  "Load_Balancer",
  "NAT",
  "Logical_Switch_Port",
  "Logical_Router_Port",
  "Logical_Router_Static_Route",
  "Logical_Router_Policy",
];

const unknown = (field: string, raw: string, why: string): DecodedValue => ({
  field,
  raw,
  meaning: `unknown (${why})`,
  known: false,
});

const known = (
  field: string,
  raw: string,
  meaning: string,
  objects?: readonly KubeObjectRef[],
): DecodedValue => ({
  field,
  raw,
  meaning,
  known: true,
  ...(objects === undefined || objects.length === 0 ? {} : { objects }),
});

/** `0x1f` or `31` (a mask after `/` dropped) → 31; undefined when not a number. */
export function parseNumber(raw: string): number | undefined {
  const v = raw.split("/")[0] ?? "";
  if (/^0x[0-9a-f]+$/i.test(v)) return Number.parseInt(v.slice(2), 16);
  if (/^\d+$/.test(v)) return Number(v);
  return undefined;
}

/** The node's OVS database (`ovsdb-client backup` of Open_vSwitch, a snapshot's conf.db) as a {@link NodeOvs}. */
export function nodeOvsFromDatabase(ovs: OvsdbDatabase): NodeOvs {
  const root = tableRows(ovs, "Open_vSwitch")[0];
  const integrationBridge = (root === undefined ? undefined : externalIds(root)["ovn-bridge"]) ?? "br-int";
  const interfaces: OvsInterface[] = [];
  let ctZones = new Map<number, string>();
  for (const bridge of tableRows(ovs, "Bridge")) {
    const bridgeName = stringColumn(bridge, "name") ?? "";
    if (bridgeName === integrationBridge) ctZones = ctZonesOf(externalIds(bridge));
    for (const port of rowsByUuids(ovs, "Port", setColumn(bridge, "ports"))) {
      for (const intf of rowsByUuids(ovs, "Interface", setColumn(port, "interfaces"))) {
        const ofport = numberColumn(intf, "ofport");
        const ifaceId = externalIds(intf)["iface-id"];
        const remoteIp = options(intf).remote_ip;
        interfaces.push({
          name: stringColumn(intf, "name") ?? "",
          bridge: bridgeName,
          type: stringColumn(intf, "type") ?? "",
          ...(ofport === undefined || ofport <= 0 ? {} : { ofport }),
          ...(ifaceId === undefined ? {} : { ifaceId }),
          ...(remoteIp === undefined ? {} : { remoteIp }),
        });
      }
    }
  }
  return { interfaces, ctZones, integrationBridge };
}

/** `ct-zone-<key>="N"` entries of br-int's external_ids, by zone. */
export function ctZonesOf(ids: Readonly<Record<string, string>>): Map<number, string> {
  const zones = new Map<number, string>();
  for (const [k, v] of Object.entries(ids)) {
    if (k.startsWith("ct-zone-") && /^\d+$/.test(v)) zones.set(Number(v), k.slice("ct-zone-".length));
  }
  return zones;
}

function atomStrings(row: OvsdbRow, column: string): string[] {
  return setColumn(row, column).map((a: OvsdbAtom) => String(a));
}

/** Indexes over the databases, built once per decoder. */
export class OvnDecoder {
  private readonly datapaths = new Map<number, OvsdbRow>();
  private readonly datapathByUuid = new Map<string, OvsdbRow>();
  /** datapath uuid → tunnel key → Port_Binding / Multicast_Group. */
  private readonly ports = new Map<string, Map<number, OvsdbRow>>();
  private readonly lspByName = new Map<string, OvsdbRow>();
  private readonly nodes = new Set<string>();
  private readonly encapNode = new Map<string, string>();

  constructor(readonly sources: DecodeSources) {
    const { nb, sb } = sources;
    if (sb !== undefined) {
      for (const dp of tableRows(sb, "Datapath_Binding")) {
        const key = numberColumn(dp, "tunnel_key");
        if (key !== undefined) this.datapaths.set(key, dp);
        this.datapathByUuid.set(dp.uuid, dp);
      }
      for (const table of ["Port_Binding", "Multicast_Group"]) {
        for (const row of tableRows(sb, table)) {
          const dp = stringColumn(row, "datapath");
          const key = numberColumn(row, "tunnel_key");
          if (dp === undefined || key === undefined) continue;
          let m = this.ports.get(dp);
          if (m === undefined) this.ports.set(dp, (m = new Map<number, OvsdbRow>()));
          m.set(key, row);
        }
      }
      for (const ch of tableRows(sb, "Chassis")) {
        const host = stringColumn(ch, "hostname");
        if (host === undefined || host === "") continue;
        this.nodes.add(host);
        for (const encap of rowsByUuids(sb, "Encap", setColumn(ch, "encaps"))) {
          const ip = stringColumn(encap, "ip");
          if (ip !== undefined) this.encapNode.set(ip, host);
        }
      }
    }
    if (nb !== undefined) {
      for (const lsp of tableRows(nb, "Logical_Switch_Port")) {
        const name = stringColumn(lsp, "name");
        if (name !== undefined) this.lspByName.set(name, lsp);
        const mgmt = /^k8s-(.+)$/.exec(name ?? "")?.[1];
        if (mgmt !== undefined) this.nodes.add(mgmt);
      }
    }
  }

  // --- lookups ---------------------------------------------------------------------------------------

  datapath(key: number): DatapathInfo | undefined {
    const dp = this.datapaths.get(key);
    if (dp === undefined) return undefined;
    return this.datapathInfo(dp);
  }

  private datapathInfo(dp: OvsdbRow): DatapathInfo {
    const ids = externalIds(dp);
    const kind =
      ids["logical-switch"] !== undefined
        ? "switch"
        : ids["logical-router"] !== undefined
          ? "router"
          : undefined;
    const name = ids.name;
    const meaning = name === undefined ? undefined : datapathMeaning(name, kind, this.nodes);
    return {
      key: numberColumn(dp, "tunnel_key") ?? 0,
      uuid: dp.uuid,
      ...(name === undefined ? {} : { name }),
      ...(kind === undefined ? {} : { kind }),
      ...(meaning === undefined ? {} : { meaning }),
    };
  }

  /** The Port_Binding (or Multicast_Group) with that tunnel key in the datapath. */
  portRow(dpKey: number, key: number): OvsdbRow | undefined {
    const dp = this.datapaths.get(dpKey);
    return dp === undefined ? undefined : this.ports.get(dp.uuid)?.get(key);
  }

  /** The logical port name of a tunnel key in a datapath (undefined for a multicast group or no row). */
  portName(dpKey: number, key: number): string | undefined {
    const row = this.portRow(dpKey, key);
    return row?.table === "Port_Binding" ? stringColumn(row, "logical_port") : undefined;
  }

  /** The node whose chassis has that encapsulation IP (SB Encap → Chassis hostname). */
  nodeOfEncapIp(ip: string): string | undefined {
    return this.encapNode.get(ip);
  }

  /** The node's integration bridge (br-int unless its OVS database says otherwise). */
  get integrationBridge(): string {
    return this.sources.node?.integrationBridge ?? "br-int";
  }

  /** The OVS interface with that OpenFlow port on a bridge (the integration bridge by default). */
  interfaceOf(ofport: number, bridge?: string): OvsInterface | undefined {
    const br = bridge ?? this.integrationBridge;
    return this.sources.node?.interfaces.find(
      (i) => i.ofport === ofport && (i.bridge === undefined || i.bridge === br),
    );
  }

  /** The logical switch port holding an IP address (NB addresses / dynamic_addresses). */
  lspOfIp(ip: string): OvsdbRow | undefined {
    for (const lsp of this.lspByName.values()) {
      const addrs = [...atomStrings(lsp, "addresses"), ...atomStrings(lsp, "dynamic_addresses")];
      if (addrs.some((a) => a.split(/\s+/).includes(ip))) return lsp;
    }
    return undefined;
  }

  /** The SB row whose uuid starts with the cookie (a Logical_Flow first; OVN also uses Port_Binding etc. uuids). */
  cookieRows(cookie: string): { logicalFlow?: OvsdbRow; other?: OvsdbRow } {
    const sb = this.sources.sb;
    const row = sb === undefined ? undefined : rowByCookie(sb, COOKIE_TABLES, cookie);
    if (row === undefined) return {};
    return row.table === "Logical_Flow" ? { logicalFlow: row } : { other: row };
  }

  /** The NB row a logical flow's stage-hint points at (ACL, Load_Balancer, NAT, ports...). */
  hintRow(lflow: OvsdbRow): OvsdbRow | undefined {
    const nb = this.sources.nb;
    const hint = externalIds(lflow)["stage-hint"];
    if (nb === undefined || hint === undefined) return undefined;
    return rowByCookie(nb, HINT_TABLES, hint);
  }

  // --- decoding --------------------------------------------------------------------------------------

  describeDatapath(field: string, raw: string, key: number | undefined = parseNumber(raw)): DecodedValue {
    if (key === undefined) return unknown(field, raw, "not a number");
    if (this.sources.sb === undefined) return unknown(field, raw, "no southbound database");
    const dp = this.datapath(key);
    if (dp === undefined) return unknown(field, raw, `no Datapath_Binding with tunnel_key ${key}`);
    if (dp.name === undefined)
      return unknown(field, raw, `Datapath_Binding ${dp.uuid.slice(0, 8)} has no name in its external_ids`);
    return known(field, raw, datapathText(dp), dp.meaning?.objects);
  }

  describePort(field: string, raw: string, dpKey: number | undefined, key = parseNumber(raw)): DecodedValue {
    if (key === undefined) return unknown(field, raw, "not a number");
    if (key === 0) return known(field, raw, "none");
    if (this.sources.sb === undefined) return unknown(field, raw, "no southbound database");
    if (dpKey === undefined) return unknown(field, raw, "the datapath (metadata) is not known here");
    const row = this.portRow(dpKey, key);
    if (row === undefined)
      return unknown(field, raw, `no port with tunnel_key ${key} in datapath ${this.datapathName(dpKey)}`);
    if (row.table === "Multicast_Group" || key >= MULTICAST_KEY_MIN)
      return known(field, raw, `multicast group ${stringColumn(row, "name") ?? "?"}`);
    const name = stringColumn(row, "logical_port") ?? "";
    const m = this.portMeaning(name);
    const notes = [m?.text, stringColumn(row, "type") === "remote" ? "in another zone" : undefined].filter(
      (x) => x !== undefined,
    );
    return known(field, raw, `port ${name}${notes.length === 0 ? "" : ` (${notes.join("; ")})`}`, m?.objects);
  }

  /** A logical port by name: its pod (NB LSP external_ids), or what ovn-kubernetes names it for. */
  portMeaning(name: string): KubeMeaning | undefined {
    const lsp = this.lspByName.get(name);
    const pod = lsp === undefined ? undefined : podOfLsp(lsp);
    if (pod !== undefined) return { text: `pod ${pod.namespace ?? ""}/${pod.name}`, objects: [pod] };
    return portNameMeaning(name);
  }

  /** Both logical ports of an OVN Geneve option (`ingress << 16 | egress`) in the tunnel's datapath. */
  describeTunnelPorts(field: string, raw: string, dpKey: number | undefined): DecodedValue {
    const v = parseNumber(raw);
    if (v === undefined) return unknown(field, raw, "not a number");
    const ingress = Math.floor(v / 0x10000) & 0x7fff;
    const egress = v & 0xffff;
    const i = this.describePort("ingress", `0x${ingress.toString(16)}`, dpKey);
    const e = this.describePort("egress", `0x${egress.toString(16)}`, dpKey);
    const objects = [...(i.objects ?? []), ...(e.objects ?? [])];
    return {
      field,
      raw,
      meaning: `ingress ${ingress} = ${i.meaning}, egress ${egress} = ${e.meaning}`,
      known: i.known && e.known,
      ...(objects.length === 0 ? {} : { objects }),
    };
  }

  describeOfport(field: string, raw: string, bridge?: string): DecodedValue {
    const n = parseNumber(raw);
    if (n === undefined) return unknown(field, raw, "not a port number");
    if (this.sources.node === undefined) return unknown(field, raw, "the node's OVS database was not read");
    const intf = this.interfaceOf(n, bridge);
    if (intf === undefined)
      return unknown(field, raw, `no interface with ofport ${n} on ${bridge ?? "br-int"}`);
    if (intf.ifaceId !== undefined) {
      const m = this.portMeaning(intf.ifaceId);
      return known(
        field,
        raw,
        `interface ${intf.name} (port ${intf.ifaceId}${m === undefined ? "" : `, ${m.text}`})`,
        m?.objects,
      );
    }
    if (intf.remoteIp !== undefined) {
      const peer = this.nodeOfEncapIp(intf.remoteIp);
      return known(
        field,
        raw,
        `tunnel ${intf.name} to ${intf.remoteIp}${peer === undefined ? "" : ` (node ${peer})`}`,
        peer === undefined ? undefined : [{ kind: "Node", name: peer }],
      );
    }
    return known(field, raw, `interface ${intf.name}${intf.type ? ` (${intf.type})` : ""}`);
  }

  describeCtZone(field: string, raw: string): DecodedValue {
    const zone = parseNumber(raw);
    if (zone === undefined) return unknown(field, raw, "not a number");
    if (zone === 0) return known(field, raw, "none (zone 0)");
    const zones = this.sources.node?.ctZones;
    if (zones === undefined) return unknown(field, raw, "the node's OVS database was not read");
    const owner = zones.get(zone);
    if (owner === undefined) return unknown(field, raw, `no ct-zone entry ${zone} in br-int's external_ids`);
    const nat = /^([0-9a-f-]{36})_(dnat|snat)$/.exec(owner);
    if (nat !== null) {
      const dp = this.datapathByUuid.get(nat[1] ?? "");
      const info = dp === undefined ? undefined : this.datapathInfo(dp);
      const what = nat[2] === "dnat" ? "DNAT" : "SNAT";
      return known(
        field,
        raw,
        `${what} zone of ${info === undefined ? `datapath ${nat[1] ?? ""}` : datapathText(info)}`,
        info?.meaning?.objects,
      );
    }
    const m = this.portMeaning(owner);
    return known(field, raw, `ct zone of port ${owner}${m === undefined ? "" : ` (${m.text})`}`, m?.objects);
  }

  describeEncapIp(field: string, ip: string): DecodedValue {
    if (this.sources.sb === undefined) return unknown(field, ip, "no southbound database");
    const n = this.nodeOfEncapIp(ip);
    return n === undefined
      ? unknown(field, ip, "no chassis with that encap IP")
      : known(field, ip, `tunnel endpoint of node ${n}`, [{ kind: "Node", name: n }]);
  }

  /**
   * A cookie's logical flow in Kubernetes terms, when its stage-hint points at an object ovn-kubernetes owns;
   * undefined for flows without such a hint (ovn-detrace's lines say what they are). A cookie that matches
   * no row at all is "unknown".
   */
  describeCookie(raw: string): DecodedValue | undefined {
    if (this.sources.sb === undefined) return undefined;
    const { logicalFlow, other } = this.cookieRows(raw);
    if (logicalFlow === undefined)
      return other === undefined
        ? unknown("cookie", raw, "no southbound row has that uuid prefix")
        : undefined;
    const stage = externalIds(logicalFlow)["stage-name"] ?? "?";
    const row = this.hintRow(logicalFlow);
    if (row === undefined || this.sources.nb === undefined) return undefined;
    const m = nbRowMeaning(this.sources.nb, row);
    if (m !== undefined) return known("cookie", raw, `${stage}: ${m.text}`, m.objects);
    if (row.table === "ACL")
      return known(
        "cookie",
        raw,
        `${stage}: ACL ${stringColumn(row, "name") ?? row.uuid.slice(0, 8)} (no ovn-kubernetes owner)`,
      );
    return undefined;
  }

  /** Bits of reg0 a value/mask sets or matches, named in a logical switch's pipeline. */
  describeReg0Bits(
    field: string,
    raw: string,
    reg0Offset: number,
    dpKey: number | undefined,
  ): DecodedValue | undefined {
    const [v, m] = raw.split("/");
    if (v === undefined || !/^0x[0-9a-f]+$|^\d+$/i.test(v)) return undefined;
    const value = BigInt(v);
    const mask =
      m === undefined
        ? (1n << BigInt(reg0Offset + 32)) - 1n
        : /^0x[0-9a-f]+$|^\d+$/i.test(m)
          ? BigInt(m)
          : undefined;
    if (mask === undefined) return undefined;
    const bits: [number, boolean][] = [];
    for (let b = 0; b < 32; b++) {
      const bit = 1n << BigInt(b + reg0Offset);
      if ((mask & bit) !== 0n) bits.push([b, (value & bit) !== 0n]);
    }
    // an explicit whole-register value (reg0 = next hop, set_field:0->reg0) is no flag
    if (m === undefined || bits.length === 0 || bits.length > 8) return undefined;
    const dp = dpKey === undefined ? undefined : this.datapath(dpKey);
    if (dp?.kind === "router") return undefined;
    if (dp?.kind !== "switch")
      return unknown(
        field,
        raw,
        "reg0 bits are named only in a logical switch's pipeline, and the datapath is unknown",
      );
    const named = bits.map(([b, on]) => {
      const n = SWITCH_REG0_BITS[b];
      return `reg0[${b}]=${on ? 1 : 0}${n === undefined ? "" : ` ${n[0]} (${n[1]})`}`;
    });
    return known(field, raw, named.join(", "));
  }

  /** A DNAT target (`ip:port`): the Service whose load balancer has it as a backend, and the backend's pod. */
  describeBackend(field: string, raw: string): DecodedValue {
    const nb = this.sources.nb;
    if (nb === undefined) return unknown(field, raw, "no northbound database");
    const { ip, port } = splitHostPort(raw);
    const backend = port === undefined ? undefined : hostPort(ip, port);
    const lb =
      backend === undefined
        ? undefined
        : tableRows(nb, "Load_Balancer").find((r) =>
            Object.values(stringMap(r, "vips")).some((b) => b.split(",").includes(backend)),
          );
    const svc = lb === undefined ? undefined : loadBalancerMeaning(lb);
    const lsp = this.lspOfIp(ip);
    const pod = lsp === undefined ? undefined : podOfLsp(lsp);
    if (svc === undefined && pod === undefined)
      return unknown(field, raw, "no load balancer backend or pod with that address");
    const text = [
      svc === undefined ? undefined : `backend of ${svc.text}`,
      pod === undefined ? undefined : `pod ${pod.namespace ?? ""}/${pod.name}`,
    ]
      .filter((x) => x !== undefined)
      .join(": ");
    return known(field, raw, text, [...(svc?.objects ?? []), ...(pod === undefined ? [] : [pod])]);
  }

  /**
   * A source NAT address: the NB NAT row with that external IP (a node's IP on its gateway router, an EgressIP);
   * of several (an EgressIP's, one per pod), the one of the sender's address `logicalIp` first.
   */
  describeSnat(field: string, ip: string, logicalIp?: string): DecodedValue {
    const nb = this.sources.nb;
    if (nb === undefined) return unknown(field, ip, "no northbound database");
    const nats = tableRows(nb, "NAT")
      .filter((n) => stringColumn(n, "external_ip") === ip)
      .sort(
        (a, b) =>
          Number(stringColumn(b, "logical_ip") === logicalIp) -
          Number(stringColumn(a, "logical_ip") === logicalIp),
      );
    for (const nat of nats) {
      const m = natMeaning(nb, nat);
      if (m !== undefined) return known(field, ip, m.text, m.objects);
    }
    return unknown(
      field,
      ip,
      nats.length === 0 ? "no NAT row with that external IP" : "NAT row without an ovn-kubernetes owner",
    );
  }

  private datapathName(key: number): string {
    return this.datapath(key)?.name ?? String(key);
  }
}

export function datapathText(dp: DatapathInfo): string {
  const kind = dp.kind === undefined ? "datapath" : `logical ${dp.kind}`;
  return `${kind} ${dp.name ?? dp.uuid}${dp.meaning === undefined ? "" : ` (${dp.meaning.text})`}`;
}
