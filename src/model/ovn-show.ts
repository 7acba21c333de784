import type { Elision } from "./openflow.js";
import type { ParsedDocument, SourceRef } from "./source.js";

/** A `key: value` line of a `show` tree, as printed. */
export interface ShowProperty {
  readonly source: SourceRef;
  /** "type", "addresses", "router-port", "external port(s)", "gateway chassis", "hostname", "ip", ... */
  readonly key: string;
  /** The text after `key: `, as printed (quotes and brackets kept). */
  readonly value: string;
}

// ---------------------------------------------------------------------------------------------------
// ovn-nbctl show
// ---------------------------------------------------------------------------------------------------

/** One entry of a switch port's `addresses: [...]`: `"0a:58:0a:f4:01:03 10.244.1.3 fd00::3"`, `"unknown"`. */
export interface LogicalPortAddress {
  /** The entry as printed, without its quotes. */
  readonly text: string;
  /** The Ethernet address when the entry starts with one; null for `unknown`, `dynamic`, `router`, ... */
  readonly mac: string | null;
  /** The IP addresses after the MAC, as printed (an IPv4 or IPv6 address, possibly with a prefix length). */
  readonly ips: readonly string[];
}

/** `    port NAME [(aka ALIAS)]` under a switch, with its property lines. */
export interface NbSwitchPort {
  readonly kind: "switch-port";
  readonly source: SourceRef;
  readonly name: string;
  /** `(aka ...)`: external_ids:neutron:port_name; null when not printed. */
  readonly alias: string | null;
  /** `type: router`, `localnet`, `remote`, `virtual`, ...; null for a VIF (not printed). */
  readonly type: string | null;
  /** `parent: NAME` (a container port inside a VM); null when not printed. */
  readonly parent: string | null;
  /** `tag: N`; null when not printed. */
  readonly tag: number | null;
  /** `addresses: [...]` in printed order; empty when not printed (OVN omits a lone "router"). */
  readonly addresses: readonly LogicalPortAddress[];
  /** `router-port: NAME` (options:router-port of a type "router" port); null when not printed. */
  readonly routerPort: string | null;
  /** `peer: NAME` (newer OVN); null when not printed. */
  readonly peer: string | null;
  /** Every property line in printed order, the ones above included. */
  readonly properties: readonly ShowProperty[];
}

/** `switch UUID (NAME) [(aka ALIAS)]` and its ports. */
export interface NbSwitch {
  readonly kind: "switch";
  readonly source: SourceRef;
  readonly uuid: string;
  /** The Logical_Switch name ("" when it has none). */
  readonly name: string;
  /** `(aka ...)`: external_ids:neutron:network_name; null when not printed. */
  readonly alias: string | null;
  readonly ports: readonly NbSwitchPort[];
}

/** `    port NAME` under a router, with its property lines. */
export interface NbRouterPort {
  readonly kind: "router-port";
  readonly source: SourceRef;
  readonly name: string;
  /** `mac: "..."` without quotes; null when not printed. */
  readonly mac: string | null;
  /** `ipv6-lla: "..."` (newer OVN) without quotes; null when not printed. */
  readonly ipv6Lla: string | null;
  /** `networks: ["10.244.1.1/24", ...]` without quotes; empty when not printed. */
  readonly networks: readonly string[];
  /** `route-table: NAME`; null when not printed. */
  readonly routeTable: string | null;
  /** `gateway chassis: [A B]`, highest priority first; empty when not printed. */
  readonly gatewayChassis: readonly string[];
  /** `peer: NAME` (newer OVN); null when not printed. */
  readonly peer: string | null;
  /** Every property line in printed order, the ones above included. */
  readonly properties: readonly ShowProperty[];
}

/** `    nat UUID` under a router, with its property lines. */
export interface NbNat {
  readonly kind: "nat";
  readonly source: SourceRef;
  readonly uuid: string;
  /** `external ip: "..."` without quotes; null when not printed. */
  readonly externalIp: string | null;
  /** `external port(s): "8080-8090"` without quotes; null when not printed. */
  readonly externalPortRange: string | null;
  /** `logical ip: "..."` without quotes; null when not printed. */
  readonly logicalIp: string | null;
  /** `type: "snat"` / `"dnat"` / `"dnat_and_snat"` without quotes; null when not printed. */
  readonly type: string | null;
  readonly properties: readonly ShowProperty[];
}

/** `router UUID (NAME) [(aka ALIAS)]`, its ports and its NAT rules. */
export interface NbRouter {
  readonly kind: "router";
  readonly source: SourceRef;
  readonly uuid: string;
  readonly name: string;
  /** `(aka ...)`: external_ids:neutron:router_name; null when not printed. */
  readonly alias: string | null;
  readonly ports: readonly NbRouterPort[];
  readonly nats: readonly NbNat[];
}

/**
 * `ovn-nbctl show [SWITCH|ROUTER]` (OVN 2.x to 24.x; before OVN 2.8 every line carried 4 more spaces).
 * Blank lines are separators: neither records nor `unconsumed`.
 */
export interface NbctlShowDocument extends ParsedDocument<"ovn-nbctl-show"> {
  readonly switches: readonly NbSwitch[];
  readonly routers: readonly NbRouter[];
  readonly elisions: readonly Elision[];
}

// ---------------------------------------------------------------------------------------------------
// ovn-sbctl show
// ---------------------------------------------------------------------------------------------------

/** `    Encap geneve` under a chassis, with its `ip:` and `options:` lines. */
export interface SbEncap {
  readonly kind: "encap";
  readonly source: SourceRef;
  /** "geneve", "vxlan", "stt". */
  readonly type: string;
  /** `ip: "172.18.0.2"` without quotes; null when not printed. */
  readonly ip: string | null;
  /** `options: {csum="true"}` as key → value, quotes removed; empty when not printed. */
  readonly options: Readonly<Record<string, string>>;
  /** Every column line in printed order, `ip` and `options` included. */
  readonly columns: readonly ShowProperty[];
}

/** `    Port_Binding NAME`: a logical port bound to the chassis above. */
export interface SbPortBinding {
  readonly kind: "port-binding";
  readonly source: SourceRef;
  /** The logical port's name, quotes removed (OVSDB quotes a name that looks like a UUID or a number). */
  readonly logicalPort: string;
}

/** `Chassis NAME`, its columns, encapsulations and port bindings. */
export interface SbChassis {
  readonly kind: "chassis";
  readonly source: SourceRef;
  /** The Chassis name (a system-id), quotes removed. */
  readonly name: string;
  /** `hostname: ...`, quotes removed; null when not printed. */
  readonly hostname: string | null;
  readonly encaps: readonly SbEncap[];
  readonly portBindings: readonly SbPortBinding[];
  /** Every column line of the chassis itself in printed order, `hostname` included. */
  readonly columns: readonly ShowProperty[];
}

/** `ovn-sbctl show` (OVN 2.x to 24.x). Blank lines are separators: neither records nor `unconsumed`. */
export interface SbctlShowDocument extends ParsedDocument<"ovn-sbctl-show"> {
  readonly chassis: readonly SbChassis[];
  readonly elisions: readonly Elision[];
}
