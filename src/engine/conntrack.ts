import type { OfprotoTraceDocument } from "../model/ofproto-trace.js";
import type { TracedHop } from "../model/traced-hop.js";
import { finalValues, type PacketAddresses } from "./stitch.js";

/**
 * Conntrack across the two directions of a connection. ofproto/trace shows a NAT only where a `ct(nat(...))`
 * names its address (the forward packet's DNAT to a backend, its SNAT at a gateway or for a hairpin); a reply
 * meets a bare `ct(nat)` that undoes them from the connection's state, which a trace cannot see. So the forward
 * trace's translations are recorded (node, conntrack zone, from, to) and undone where the reply's trace passes
 * the same zone on the same node, as the real conntrack would. Pure.
 */

export interface Endpoint {
  readonly ip: string;
  readonly port?: number;
}

export interface NatEvent {
  readonly node: string;
  /** The conntrack zone of the `ct()` (null: the datapath's default zone). */
  readonly zone: number | null;
  readonly direction: "src" | "dst";
  readonly from: Endpoint;
  readonly to: Endpoint;
}

const endpoint = (ip: string | undefined, port: string | undefined): Endpoint => ({
  ip: ip ?? "",
  ...(port === undefined ? {} : { port: Number(port) }),
});

/** The translations the forward direction's OpenFlow traces made, in order. */
export function natEvents(hops: readonly TracedHop[]): NatEvent[] {
  const events: NatEvent[] = [];
  for (const h of hops) {
    for (const pass of h.ofproto?.passes ?? []) {
      const f = pass.flow.values;
      for (const a of pass.datapathActions.actions) {
        if (a.kind !== "ct" || a.nat?.addr == null || a.nat.direction === null) continue;
        const src = a.nat.direction === "src";
        const from = endpoint(
          src ? (f.nw_src ?? f.ipv6_src) : (f.nw_dst ?? f.ipv6_dst),
          src ? f.tp_src : f.tp_dst,
        );
        const to = {
          ip: a.nat.addr,
          ...(a.nat.port === null
            ? from.port === undefined
              ? {}
              : { port: from.port }
            : { port: a.nat.port }),
        };
        events.push({ node: h.hop.node, zone: a.zone, direction: a.nat.direction, from, to });
      }
    }
  }
  return events;
}

const same = (ip: string, port: number | undefined, e: Endpoint): boolean =>
  ip === e.ip && (e.port === undefined || port === undefined || port === e.port);

/**
 * A reply's addresses on arrival: what its traces ended with, with each forward translation undone where the
 * reply passed a bare `ct(nat)` in that translation's zone on that node (a DNAT's backend becomes the original
 * destination again in the source; an SNAT's address becomes the original source again in the destination).
 */
export function undoNat(
  arrival: PacketAddresses,
  replyHops: readonly TracedHop[],
  forward: readonly NatEvent[],
): PacketAddresses {
  let p = arrival;
  for (const h of replyHops) {
    for (const pass of h.ofproto?.passes ?? []) {
      for (const a of pass.datapathActions.actions) {
        if (a.kind !== "ct" || a.nat === null || a.nat.addr !== null) continue;
        for (const e of forward) {
          if (e.node !== h.hop.node || e.zone !== a.zone) continue;
          if (e.direction === "dst" && same(p.srcIp, p.srcPort, e.to))
            p = {
              ...p,
              srcIp: e.from.ip,
              ...(e.from.port === undefined || p.srcPort === undefined ? {} : { srcPort: e.from.port }),
            };
          if (e.direction === "src" && same(p.dstIp, p.dstPort, e.to))
            p = {
              ...p,
              dstIp: e.from.ip,
              ...(e.from.port === undefined || p.dstPort === undefined ? {} : { dstPort: e.from.port }),
            };
        }
      }
    }
  }
  return p;
}

/** Where a reply meets the un-SNAT of a forward SNAT (see {@link unsnatIn}). */
export interface Unsnat {
  readonly event: NatEvent;
  /**
   * The packet as conntrack gets it: the flow the next pass starts with (a `ct` that recirculates freezes the
   * translation: the pass's own final flow stops short of the header rewrites before it).
   */
  readonly values: Readonly<Record<string, string>>;
}

/**
 * The forward SNAT a reply's trace on a node meets: a bare `ct(nat)` (no commit) in that SNAT's conntrack zone on
 * its node, the packet addressed to the address and port the SNAT chose. Real conntrack gives the packet the
 * original source back as its destination there, which changes where it is routed next; a trace cannot see it.
 */
export function unsnatIn(
  doc: OfprotoTraceDocument,
  node: string,
  forward: readonly NatEvent[],
): Unsnat | undefined {
  for (const [i, pass] of doc.passes.entries()) {
    const next = doc.passes[i + 1];
    const f = next === undefined ? finalValues(pass) : next.flow.values;
    const dst = f.nw_dst ?? f.ipv6_dst ?? "";
    const port = f.tp_dst === undefined ? undefined : Number(f.tp_dst);
    for (const a of pass.datapathActions.actions) {
      if (a.kind !== "ct" || a.commit || a.nat === null || a.nat.addr !== null) continue;
      const event = forward.find(
        (e) => e.direction === "src" && e.node === node && e.zone === a.zone && same(dst, port, e.to),
      );
      if (event !== undefined) return { event, values: f };
    }
  }
  return undefined;
}
