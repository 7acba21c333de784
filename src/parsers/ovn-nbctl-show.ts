import type { Elision } from "../model/openflow.js";
import type {
  LogicalPortAddress,
  NbctlShowDocument,
  NbNat,
  NbRouter,
  NbRouterPort,
  NbSwitch,
  NbSwitchPort,
  ShowProperty,
} from "../model/ovn-show.js";
import type { SourceRef } from "../model/source.js";
import { headLines, isElisionLine, locate, readLines } from "./text.js";
import { ParseError } from "../errors.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `switch 8ba6be15-4af2-4b31-96dd-4fca70352584 (ovn-worker)`, `router UUID (name) (aka alias)`. */
const DATAPATH_RE =
  /^(switch|router) ([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}) \((.*)\)$/;
const DATAPATH_START_RE = /^(?:switch|router) [0-9a-fA-F]{8}-/;
const ALIAS_RE = /^(.*)\) \(aka (.*)$/;
const PORT_RE = /^port (\S.*)$/;
const AKA = " (aka ";
const NAT_RE = /^nat ([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
/** `type: router`, `external port(s): "..."`, `gateway chassis: [...]`. */
const PROPERTY_RE = /^([a-z][a-z0-9_ ()-]*?): (.*)$/;
const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const QUOTED_RE = /"([^"]*)"/g;

type SwitchDraft = Mutable<NbSwitch> & { ports: NbSwitchPort[] };
type RouterDraft = Mutable<NbRouter> & { ports: NbRouterPort[]; nats: NbNat[] };
type SwitchPortDraft = Mutable<NbSwitchPort> & {
  addresses: LogicalPortAddress[];
  properties: ShowProperty[];
};
type RouterPortDraft = Mutable<NbRouterPort> & { properties: ShowProperty[] };
type NatDraft = Mutable<NbNat> & { properties: ShowProperty[] };

/** `"172.18.0.4"` → `172.18.0.4`; text without quotes is returned as it is. */
function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** `["a", "b c"]` → ["a", "b c"] (ovn-nbctl prints these strings without escaping). */
function quotedList(value: string): string[] {
  if (!value.startsWith("[") || !value.endsWith("]")) return [];
  return [...value.matchAll(QUOTED_RE)].map((m) => m[1] ?? "");
}

export function logicalPortAddress(text: string): LogicalPortAddress {
  const [first = "", ...rest] = text.split(" ").filter((word) => word !== "");
  return MAC_RE.test(first) ? { text, mac: first, ips: rest } : { text, mac: null, ips: [] };
}

function applySwitchPortProperty(port: SwitchPortDraft, key: string, value: string): void {
  switch (key) {
    case "type":
      port.type = value;
      return;
    case "parent":
      port.parent = value;
      return;
    case "tag":
      port.tag = /^\d+$/.test(value) ? Number(value) : null;
      return;
    case "addresses":
      port.addresses = quotedList(value).map(logicalPortAddress);
      return;
    case "router-port":
      port.routerPort = value;
      return;
    case "peer":
      port.peer = value;
      return;
  }
}

function applyRouterPortProperty(port: RouterPortDraft, key: string, value: string): void {
  switch (key) {
    case "mac":
      port.mac = unquote(value);
      return;
    case "ipv6-lla":
      port.ipv6Lla = unquote(value);
      return;
    case "networks":
      port.networks = quotedList(value);
      return;
    case "route-table":
      port.routeTable = value;
      return;
    case "gateway chassis":
      port.gatewayChassis =
        value.startsWith("[") && value.endsWith("]")
          ? value
              .slice(1, -1)
              .split(" ")
              .filter((c) => c !== "")
          : [];
      return;
    case "peer":
      port.peer = value;
      return;
  }
}

function applyNatProperty(nat: NatDraft, key: string, value: string): void {
  switch (key) {
    case "external ip":
      nat.externalIp = unquote(value);
      return;
    case "external port(s)":
      nat.externalPortRange = unquote(value);
      return;
    case "logical ip":
      nat.logicalIp = unquote(value);
      return;
    case "type":
      nat.type = unquote(value);
      return;
  }
}

function datapathHeader(trimmed: string, source: SourceRef): SwitchDraft | RouterDraft {
  const m = DATAPATH_RE.exec(trimmed);
  if (m === null) throw new ParseError("malformed switch or router line", locate(source));
  const inner = m[3] ?? "";
  const aka = ALIAS_RE.exec(inner);
  const name = aka === null ? inner : (aka[1] ?? "");
  const alias = aka === null ? null : (aka[2] ?? "");
  const uuid = m[2] ?? "";
  if (m[1] === "switch") return { kind: "switch", source, uuid, name, alias, ports: [] };
  return { kind: "router", source, uuid, name, alias, ports: [], nats: [] };
}

/**
 * Parses `ovn-nbctl show [SWITCH|ROUTER]` (OVN 2.x–24.x, both the older form indented by 4 more spaces and
 * the current one). Properties this parser does not know are kept in `properties`.
 */
export function parseNbctlShow(text: string): NbctlShowDocument {
  const switches: SwitchDraft[] = [];
  const routers: RouterDraft[] = [];
  const elisions: Elision[] = [];
  let datapath: SwitchDraft | RouterDraft | null = null;
  let owner: SwitchPortDraft | RouterPortDraft | NatDraft | null = null;
  return readLines(text, {
    what: "ovn-nbctl show output",
    missing: "no switch or router line",
    read(trimmed, source) {
      if (DATAPATH_START_RE.test(trimmed)) {
        datapath = datapathHeader(trimmed, source);
        if (datapath.kind === "switch") switches.push(datapath);
        else routers.push(datapath);
        owner = null;
        return true;
      }
      if (isElisionLine(trimmed)) {
        elisions.push({ kind: "elision", source });
        datapath = null;
        owner = null;
        return true;
      }
      const port = PORT_RE.exec(trimmed);
      if (port !== null && datapath !== null) {
        const { name, alias } = splitAlias(port[1] ?? "");
        owner =
          datapath.kind === "switch"
            ? switchPort(datapath, source, name, alias)
            : routerPort(datapath, source, name, alias);
        return true;
      }
      const nat = NAT_RE.exec(trimmed);
      if (nat !== null && datapath?.kind === "router") {
        owner = {
          kind: "nat",
          source,
          uuid: nat[1] ?? "",
          externalIp: null,
          externalPortRange: null,
          logicalIp: null,
          type: null,
          properties: [],
        };
        datapath.nats.push(owner);
        return true;
      }
      const property = PROPERTY_RE.exec(trimmed);
      if (property === null || owner === null) return false;
      const key = property[1] ?? "";
      const value = property[2] ?? "";
      owner.properties.push({ source, key, value });
      if (owner.kind === "switch-port") applySwitchPortProperty(owner, key, value);
      else if (owner.kind === "router-port") applyRouterPortProperty(owner, key, value);
      else applyNatProperty(owner, key, value);
      return true;
    },
    recognized: () => switches.length + routers.length > 0,
    finish: (lines) => ({ kind: "ovn-nbctl-show", switches, routers, elisions, ...lines }),
  });
}

/** `NAME (aka ALIAS)` → name and alias (the first ` (aka `: OVN prints the alias last); a plain name has none. */
function splitAlias(text: string): { name: string; alias: string | null } {
  const aka = text.indexOf(AKA);
  if (aka <= 0 || !text.endsWith(")")) return { name: text, alias: null };
  return { name: text.slice(0, aka), alias: text.slice(aka + AKA.length, -1) };
}

function switchPort(sw: SwitchDraft, source: SourceRef, name: string, alias: string | null): SwitchPortDraft {
  const port: SwitchPortDraft = {
    kind: "switch-port",
    source,
    name,
    alias,
    type: null,
    parent: null,
    tag: null,
    addresses: [],
    routerPort: null,
    peer: null,
    properties: [],
  };
  sw.ports.push(port);
  return port;
}

function routerPort(lr: RouterDraft, source: SourceRef, name: string, alias: string | null): RouterPortDraft {
  // OVN prints no alias for a router port: `(aka ...)` would be part of its name.
  const port: RouterPortDraft = {
    kind: "router-port",
    source,
    name: alias === null ? name : `${name} (aka ${alias})`,
    mac: null,
    ipv6Lla: null,
    networks: [],
    routeTable: null,
    gatewayChassis: [],
    peer: null,
    properties: [],
  };
  lr.ports.push(port);
  return port;
}

/** Cheap sniffer: a `switch UUID (` or `router UUID (` line among the first 50 lines. */
export function looksLikeNbctlShow(text: string): boolean {
  return headLines(text, 50).some((raw) => DATAPATH_RE.test(raw.trim()));
}
