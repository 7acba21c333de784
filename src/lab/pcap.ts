/**
 * Pure, synchronous, dependency-free reader for classic libpcap files, as written by Open vSwitch's
 * netdev-dummy `options:tx_pcap` / `options:rxq_pcap`, plus a small Ethernet / ARP / IPv4 / IPv6 /
 * UDP / TCP / ICMP / ICMPv6 / Geneve (with the OVN metadata option) decoder.
 *
 * - Both byte orders and both microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magics are read.
 * - Only link type 1 (Ethernet) is accepted.
 * - An empty buffer, or one holding only the 24-byte file header, has zero packets.
 * - A truncated trailing record throws {@link PcapError} (with its byte offset) unless
 *   `allowTruncatedTail` is set: OVS may still be writing the file while we read it.
 *
 * `decodeFrame` never throws: where data is short or not understood, that layer is
 * `{ kind: "unknown", reason, length }` and decoding stops there. Its result is plain JSON data.
 */

import { formatIp as formatIpAddress } from "../net/ip.js";

// ---------------------------------------------------------------------------------------------
// pcap file reader
// ---------------------------------------------------------------------------------------------

export class PcapError extends Error {
  /** Byte offset in the file of the header or record that is bad or truncated. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte offset ${offset})`);
    this.name = "PcapError";
    this.offset = offset;
  }
}

export interface ReadPcapOptions {
  /** Ignore a partial last record (or a partial file header) instead of throwing. Default false. */
  allowTruncatedTail?: boolean;
}

export interface PcapPacket {
  /** 0-based position of the record in the file. */
  index: number;
  /** Capture time in microseconds since the Unix epoch (nanosecond files are truncated to µs). */
  timestampUs: number;
  /** Original length of the packet on the wire (`orig_len`); `frame.length` is the captured length. */
  length: number;
  /** The captured bytes. A view into the input buffer (no copy); do not mutate it. */
  frame: Uint8Array;
}

const PCAP_FILE_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;
const LINKTYPE_ETHERNET = 1;
/** Any record larger than this (and larger than the file's snaplen) is taken as corruption. */
const MAX_SANE_CAPLEN = 262144;

/** Read every packet of a classic libpcap file (Ethernet link type). */
export function readPcap(buf: Uint8Array, opts: ReadPcapOptions = {}): PcapPacket[] {
  const allowTail = opts.allowTruncatedTail === true;
  if (buf.length === 0) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

  if (buf.length >= 4) {
    // validate the magic even on a partial header: garbage is never "still being written"
    magicOf(dv);
  }
  if (buf.length < PCAP_FILE_HEADER_LEN) {
    if (allowTail) return [];
    throw new PcapError(`truncated pcap file header: ${buf.length} of ${PCAP_FILE_HEADER_LEN} bytes`, 0);
  }
  const { littleEndian, nano } = magicOf(dv);
  const snaplen = dv.getUint32(16, littleEndian);
  const linkType = dv.getUint32(20, littleEndian) & 0xffff; // upper bits may carry FCS info
  if (linkType !== LINKTYPE_ETHERNET) {
    throw new PcapError(`unsupported pcap link type ${linkType} (only 1 = Ethernet is supported)`, 20);
  }
  const maxCaplen = Math.max(snaplen, MAX_SANE_CAPLEN);

  const packets: PcapPacket[] = [];
  let off = PCAP_FILE_HEADER_LEN;
  while (off < buf.length) {
    const left = buf.length - off;
    if (left < PCAP_RECORD_HEADER_LEN) {
      if (allowTail) break;
      throw new PcapError(
        `truncated record header of packet #${packets.length}: ${left} of ${PCAP_RECORD_HEADER_LEN} bytes`,
        off,
      );
    }
    const sec = dv.getUint32(off, littleEndian);
    const frac = dv.getUint32(off + 4, littleEndian);
    const caplen = dv.getUint32(off + 8, littleEndian);
    const origLen = dv.getUint32(off + 12, littleEndian);
    if (caplen > maxCaplen) {
      throw new PcapError(
        `implausible captured length ${caplen} in record of packet #${packets.length}`,
        off,
      );
    }
    if (left - PCAP_RECORD_HEADER_LEN < caplen) {
      if (allowTail) break;
      throw new PcapError(
        `truncated record of packet #${packets.length}: ${left - PCAP_RECORD_HEADER_LEN} of ${caplen} data bytes`,
        off,
      );
    }
    const start = off + PCAP_RECORD_HEADER_LEN;
    packets.push({
      index: packets.length,
      timestampUs: sec * 1_000_000 + (nano ? Math.floor(frac / 1000) : frac),
      length: origLen,
      frame: buf.subarray(start, start + caplen),
    });
    off = start + caplen;
  }
  return packets;
}

function magicOf(dv: DataView): { littleEndian: boolean; nano: boolean } {
  const m = dv.getUint32(0, false);
  switch (m) {
    case 0xa1b2c3d4:
      return { littleEndian: false, nano: false };
    case 0xa1b23c4d:
      return { littleEndian: false, nano: true };
    case 0xd4c3b2a1:
      return { littleEndian: true, nano: false };
    case 0x4d3cb2a1:
      return { littleEndian: true, nano: true };
    default:
      throw new PcapError(`not a classic pcap file: bad magic 0x${m.toString(16).padStart(8, "0")}`, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// frame decoder: types
// ---------------------------------------------------------------------------------------------

/** Where decoding stopped: data too short, malformed, or a protocol this decoder does not know. */
export interface UnknownLayer {
  kind: "unknown";
  reason: string;
  /** Number of bytes left undecoded at this layer. */
  length: number;
}

export interface VlanTag {
  /** 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number;
  id: number;
  pcp: number;
  dei: boolean;
}

export interface EthernetHeader {
  /** Lowercase colon-separated MAC. */
  src: string;
  dst: string;
  /** Outermost VLAN tag, if any. */
  vlan?: VlanTag;
  /** Second (inner, QinQ) VLAN tag, if any. */
  innerVlan?: VlanTag;
  /** EtherType of the payload after any VLAN tags. */
  ethType: number;
}

export interface ArpLayer {
  kind: "arp";
  /** 1 = request, 2 = reply. */
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface Ipv4Layer {
  kind: "ipv4";
  src: string;
  dst: string;
  ttl: number;
  proto: number;
  tos: number;
  id: number;
  headerLength: number;
  totalLength: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes. */
  fragmentOffset: number;
  /** Present when the capture holds fewer bytes than `totalLength`. */
  truncated?: true;
}

export interface Ipv6Layer {
  kind: "ipv6";
  /** RFC 5952 canonical text form. */
  src: string;
  dst: string;
  hopLimit: number;
  /** Next Header field of the fixed header. */
  nextHeader: number;
  /** Upper-layer protocol after any extension headers (equal to nextHeader when there are none). */
  proto: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** Present when a Fragment extension header was seen (offset in bytes). */
  fragmentOffset?: number;
  truncated?: true;
}

export interface UdpLayer {
  kind: "udp";
  srcPort: number;
  dstPort: number;
  length: number;
}

export const TCP_FLAG_NAMES = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"] as const;
export type TcpFlag = (typeof TCP_FLAG_NAMES)[number];

export interface TcpLayer {
  kind: "tcp";
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Set flags, lowest bit first, e.g. ["syn", "ack"]. */
  flags: TcpFlag[];
  window: number;
}

export interface IcmpLayer {
  kind: "icmp";
  type: number;
  code: number;
  /** Echo request/reply only. */
  id?: number;
  seq?: number;
}

export interface Icmpv6Layer {
  kind: "icmpv6";
  type: number;
  code: number;
  /** Echo request/reply only. */
  id?: number;
  seq?: number;
}

export interface GeneveOption {
  class: number;
  type: number;
  /** Option data as lowercase hex (no 0x). */
  data: string;
}

export interface GeneveLayer {
  kind: "geneve";
  vni: number;
  /** 0x6558 = Transparent Ethernet Bridging. */
  protocolType: number;
  oam: boolean;
  critical: boolean;
  options: GeneveOption[];
  /** From the OVN option (class 0x0102, type 0x80, 4 bytes): logical ingress port tunnel key. */
  ovnIngressPortKey?: number;
  /** From the OVN option: logical egress port tunnel key. */
  ovnEgressPortKey?: number;
  inner: DecodedFrame;
}

export type L3Layer = ArpLayer | Ipv4Layer | Ipv6Layer | UnknownLayer;
export type L4Layer = UdpLayer | TcpLayer | IcmpLayer | Icmpv6Layer | UnknownLayer;

export interface EthernetFrame {
  kind: "eth";
  /** Number of frame bytes that were decoded (captured length). */
  length: number;
  eth: EthernetHeader;
  l3: L3Layer;
  /** Present when l3 is IPv4 or IPv6. */
  l4?: L4Layer;
  /** Present when l4 is UDP to port 6081. */
  geneve?: GeneveLayer | UnknownLayer;
}

export type DecodedFrame = EthernetFrame | UnknownLayer;

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;
export const ETH_TYPE_VLAN = 0x8100;
export const ETH_TYPE_QINQ = 0x88a8;
export const GENEVE_PORT = 6081;
export const OVN_GENEVE_CLASS = 0x0102;
export const OVN_GENEVE_TYPE = 0x80;

const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const MAX_GENEVE_DEPTH = 8;

// ---------------------------------------------------------------------------------------------
// frame decoder: byte helpers (never throw; callers check lengths first)
// ---------------------------------------------------------------------------------------------

function u8(b: Uint8Array, i: number): number {
  return b[i] ?? 0;
}

function u16(b: Uint8Array, i: number): number {
  return (u8(b, i) << 8) | u8(b, i + 1);
}

function u32(b: Uint8Array, i: number): number {
  return u8(b, i) * 0x1000000 + ((u8(b, i + 1) << 16) | (u8(b, i + 2) << 8) | u8(b, i + 3));
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function macAt(b: Uint8Array, i: number): string {
  const parts: string[] = [];
  for (let k = 0; k < 6; k++)
    parts.push(
      u8(b, i + k)
        .toString(16)
        .padStart(2, "0"),
    );
  return parts.join(":");
}

function ipv4At(b: Uint8Array, i: number): string {
  return `${u8(b, i)}.${u8(b, i + 1)}.${u8(b, i + 2)}.${u8(b, i + 3)}`;
}

/** RFC 5952 canonical text form of the 16-byte IPv6 address at `b[i]`. */
function ipv6At(b: Uint8Array, i: number): string {
  let value = 0n;
  for (let k = 0; k < 16; k++) value = (value << 8n) | BigInt(u8(b, i + k));
  return formatIpAddress({ family: 6, value });
}

function unknown(reason: string, length: number): UnknownLayer {
  return { kind: "unknown", reason, length };
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, "0")}`;
}

// ---------------------------------------------------------------------------------------------
// frame decoder
// ---------------------------------------------------------------------------------------------

/** Decode an Ethernet frame. Never throws; see {@link UnknownLayer}. */
export function decodeFrame(frame: Uint8Array): DecodedFrame {
  try {
    return decodeEthernet(frame, 0);
  } catch (e) {
    // Defensive only: the decoder checks every length and is not expected to get here.
    return unknown(`decoder error: ${e instanceof Error ? e.message : String(e)}`, frame.length);
  }
}

function decodeEthernet(b: Uint8Array, depth: number): DecodedFrame {
  if (b.length < 14) return unknown(`short Ethernet frame: ${b.length} bytes (need 14)`, b.length);
  const dst = macAt(b, 0);
  const src = macAt(b, 6);
  let ethType = u16(b, 12);
  let off = 14;
  const tags: VlanTag[] = [];
  let shortTag = false;
  while ((ethType === ETH_TYPE_VLAN || ethType === ETH_TYPE_QINQ) && tags.length < 2) {
    if (b.length < off + 4) {
      shortTag = true;
      break;
    }
    const tci = u16(b, off);
    tags.push({ tpid: ethType, id: tci & 0xfff, pcp: tci >> 13, dei: (tci & 0x1000) !== 0 });
    ethType = u16(b, off + 2);
    off += 4;
  }
  const eth: EthernetHeader = { src, dst, ethType };
  const [outerTag, innerTag] = tags;
  if (outerTag) eth.vlan = outerTag;
  if (innerTag) eth.innerVlan = innerTag;
  const rest = b.length - off;
  if (shortTag) {
    return {
      kind: "eth",
      length: b.length,
      eth,
      l3: unknown(`short VLAN tag: ${rest} bytes (need 4)`, rest),
    };
  }

  const out: EthernetFrame = { kind: "eth", length: b.length, eth, l3: unknown("", 0) };
  const p = b.subarray(off);
  switch (ethType) {
    case ETH_TYPE_ARP:
      out.l3 = decodeArp(p);
      break;
    case ETH_TYPE_IPV4:
      decodeIpv4(p, out, depth);
      break;
    case ETH_TYPE_IPV6:
      decodeIpv6(p, out, depth);
      break;
    default:
      out.l3 = unknown(`unsupported ethertype ${hex16(ethType)}`, p.length);
  }
  return out;
}

function decodeArp(p: Uint8Array): ArpLayer | UnknownLayer {
  if (p.length < 28) return unknown(`short ARP packet: ${p.length} bytes (need 28)`, p.length);
  const htype = u16(p, 0);
  const ptype = u16(p, 2);
  if (htype !== 1 || ptype !== ETH_TYPE_IPV4 || u8(p, 4) !== 6 || u8(p, 5) !== 4) {
    return unknown(`unsupported ARP hardware/protocol type ${htype}/${hex16(ptype)}`, p.length);
  }
  return {
    kind: "arp",
    op: u16(p, 6),
    senderMac: macAt(p, 8),
    senderIp: ipv4At(p, 14),
    targetMac: macAt(p, 18),
    targetIp: ipv4At(p, 24),
  };
}

function decodeIpv4(p: Uint8Array, out: EthernetFrame, depth: number): void {
  if (p.length < 20) {
    out.l3 = unknown(`short IPv4 header: ${p.length} bytes (need 20)`, p.length);
    return;
  }
  const version = u8(p, 0) >> 4;
  const ihl = (u8(p, 0) & 0xf) * 4;
  if (version !== 4) {
    out.l3 = unknown(`IPv4 ethertype but IP version ${version}`, p.length);
    return;
  }
  if (ihl < 20 || ihl > p.length) {
    out.l3 = unknown(`bad IPv4 header length ${ihl} (${p.length} bytes available)`, p.length);
    return;
  }
  const totalLength = u16(p, 2);
  const fragField = u16(p, 6);
  const l3: Ipv4Layer = {
    kind: "ipv4",
    src: ipv4At(p, 12),
    dst: ipv4At(p, 16),
    ttl: u8(p, 8),
    proto: u8(p, 9),
    tos: u8(p, 1),
    id: u16(p, 4),
    headerLength: ihl,
    totalLength,
    dontFragment: (fragField & 0x4000) !== 0,
    moreFragments: (fragField & 0x2000) !== 0,
    fragmentOffset: (fragField & 0x1fff) * 8,
  };
  // Trim Ethernet padding; keep what was captured when the packet is cut short.
  let end = p.length;
  if (totalLength >= ihl && totalLength <= p.length) end = totalLength;
  else if (totalLength > p.length) l3.truncated = true;
  out.l3 = l3;
  const payload = p.subarray(ihl, end);
  if (l3.fragmentOffset !== 0) {
    out.l4 = unknown(`non-first IPv4 fragment (offset ${l3.fragmentOffset})`, payload.length);
    return;
  }
  decodeL4(l3.proto, payload, out, depth);
}

function decodeIpv6(p: Uint8Array, out: EthernetFrame, depth: number): void {
  if (p.length < 40) {
    out.l3 = unknown(`short IPv6 header: ${p.length} bytes (need 40)`, p.length);
    return;
  }
  const first = u32(p, 0);
  const version = first >>> 28;
  if (version !== 6) {
    out.l3 = unknown(`IPv6 ethertype but IP version ${version}`, p.length);
    return;
  }
  const payloadLength = u16(p, 4);
  const nextHeader = u8(p, 6);
  const l3: Ipv6Layer = {
    kind: "ipv6",
    src: ipv6At(p, 8),
    dst: ipv6At(p, 24),
    hopLimit: u8(p, 7),
    nextHeader,
    proto: nextHeader,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
  };
  out.l3 = l3;
  let end = p.length;
  if (40 + payloadLength <= p.length) end = 40 + payloadLength;
  else l3.truncated = true;
  let rest = p.subarray(40, end);

  // Walk the extension headers to the upper-layer protocol.
  let proto = nextHeader;
  for (let guard = 0; ; guard++) {
    let hdrLen: number;
    if (proto === 0 || proto === 43 || proto === 60) {
      if (rest.length < 2) break;
      hdrLen = (u8(rest, 1) + 1) * 8;
    } else if (proto === 44) {
      hdrLen = 8;
      if (rest.length >= 4) l3.fragmentOffset = u16(rest, 2) & 0xfff8;
    } else if (proto === 51) {
      if (rest.length < 2) break;
      hdrLen = (u8(rest, 1) + 2) * 4;
    } else {
      break;
    }
    if (rest.length < hdrLen || guard >= 16) {
      l3.proto = proto;
      out.l4 = unknown(`short or unparsable IPv6 extension header ${proto}`, rest.length);
      return;
    }
    proto = u8(rest, 0);
    rest = rest.subarray(hdrLen);
  }
  l3.proto = proto;
  if (l3.fragmentOffset !== undefined && l3.fragmentOffset !== 0) {
    out.l4 = unknown(`non-first IPv6 fragment (offset ${l3.fragmentOffset})`, rest.length);
    return;
  }
  decodeL4(proto, rest, out, depth);
}

function decodeL4(proto: number, p: Uint8Array, out: EthernetFrame, depth: number): void {
  switch (proto) {
    case IPPROTO_UDP: {
      if (p.length < 8) {
        out.l4 = unknown(`short UDP header: ${p.length} bytes (need 8)`, p.length);
        return;
      }
      const udp: UdpLayer = { kind: "udp", srcPort: u16(p, 0), dstPort: u16(p, 2), length: u16(p, 4) };
      out.l4 = udp;
      if (udp.dstPort === GENEVE_PORT) {
        const end = udp.length >= 8 && udp.length <= p.length ? udp.length : p.length;
        out.geneve = decodeGeneve(p.subarray(8, end), depth);
      }
      return;
    }
    case IPPROTO_TCP: {
      if (p.length < 20) {
        out.l4 = unknown(`short TCP header: ${p.length} bytes (need 20)`, p.length);
        return;
      }
      const dataOffset = (u8(p, 12) >> 4) * 4;
      if (dataOffset < 20) {
        out.l4 = unknown(`bad TCP data offset ${dataOffset}`, p.length);
        return;
      }
      const bits = u8(p, 13);
      out.l4 = {
        kind: "tcp",
        srcPort: u16(p, 0),
        dstPort: u16(p, 2),
        seq: u32(p, 4),
        ack: u32(p, 8),
        flags: TCP_FLAG_NAMES.filter((_, i) => (bits & (1 << i)) !== 0),
        window: u16(p, 14),
      };
      return;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      const v6 = proto === IPPROTO_ICMPV6;
      const name = v6 ? "ICMPv6" : "ICMP";
      if (p.length < 4) {
        out.l4 = unknown(`short ${name} header: ${p.length} bytes (need 4)`, p.length);
        return;
      }
      const type = u8(p, 0);
      const code = u8(p, 1);
      const l4: IcmpLayer | Icmpv6Layer = v6 ? { kind: "icmpv6", type, code } : { kind: "icmp", type, code };
      const echo = v6 ? type === 128 || type === 129 : type === 0 || type === 8;
      if (echo && p.length >= 8) {
        l4.id = u16(p, 4);
        l4.seq = u16(p, 6);
      }
      out.l4 = l4;
      return;
    }
    default:
      out.l4 = unknown(`unsupported IP protocol ${proto}`, p.length);
  }
}

function decodeGeneve(p: Uint8Array, depth: number): GeneveLayer | UnknownLayer {
  if (p.length < 8) return unknown(`short Geneve header: ${p.length} bytes (need 8)`, p.length);
  const version = u8(p, 0) >> 6;
  if (version !== 0) return unknown(`unsupported Geneve version ${version}`, p.length);
  const optLen = (u8(p, 0) & 0x3f) * 4;
  if (p.length < 8 + optLen) {
    return unknown(`short Geneve options: ${p.length - 8} bytes (header says ${optLen})`, p.length);
  }
  const g: GeneveLayer = {
    kind: "geneve",
    vni: (u8(p, 4) << 16) | (u8(p, 5) << 8) | u8(p, 6),
    protocolType: u16(p, 2),
    oam: (u8(p, 1) & 0x80) !== 0,
    critical: (u8(p, 1) & 0x40) !== 0,
    options: [],
    inner: unknown("", 0),
  };
  let o = p.subarray(8, 8 + optLen);
  while (o.length > 0) {
    if (o.length < 4) return unknown(`short Geneve option header: ${o.length} bytes`, p.length);
    const cls = u16(o, 0);
    const type = u8(o, 2);
    const len = (u8(o, 3) & 0x1f) * 4;
    if (o.length < 4 + len) {
      return unknown(`Geneve option ${hex16(cls)}/${type} overruns the options area`, p.length);
    }
    const data = o.subarray(4, 4 + len);
    g.options.push({ class: cls, type, data: hex(data) });
    if (cls === OVN_GENEVE_CLASS && type === OVN_GENEVE_TYPE && len === 4) {
      const v = u32(data, 0);
      g.ovnIngressPortKey = (v >>> 16) & 0x7fff;
      g.ovnEgressPortKey = v & 0xffff;
    }
    o = o.subarray(4 + len);
  }
  const innerBytes = p.subarray(8 + optLen);
  if (g.protocolType !== 0x6558) {
    g.inner = unknown(`unsupported Geneve protocol type ${hex16(g.protocolType)}`, innerBytes.length);
  } else if (depth + 1 >= MAX_GENEVE_DEPTH) {
    g.inner = unknown(`Geneve nesting deeper than ${MAX_GENEVE_DEPTH}`, innerBytes.length);
  } else {
    g.inner = decodeEthernet(innerBytes, depth + 1);
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// one-line summary
// ---------------------------------------------------------------------------------------------

const ICMP_NAMES: Record<number, string> = {
  0: "echo reply",
  3: "unreachable",
  5: "redirect",
  8: "echo request",
  11: "time exceeded",
};

const ICMPV6_NAMES: Record<number, string> = {
  1: "unreachable",
  2: "packet too big",
  3: "time exceeded",
  128: "echo request",
  129: "echo reply",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
};

function formatVlan(t: VlanTag): string {
  return t.tpid === ETH_TYPE_VLAN ? `vlan ${t.id}` : `vlan ${t.id} (tpid ${hex16(t.tpid)})`;
}

function formatIcmp(l4: IcmpLayer | Icmpv6Layer): string {
  const label = l4.kind === "icmp" ? "ICMP" : "ICMPv6";
  const name = (l4.kind === "icmp" ? ICMP_NAMES : ICMPV6_NAMES)[l4.type];
  let s = name === undefined ? `${label} type ${l4.type} code ${l4.code}` : `${label} ${name}`;
  if (name !== undefined && l4.code !== 0) s += ` code ${l4.code}`;
  if (l4.id !== undefined && l4.seq !== undefined) s += `, id ${l4.id}, seq ${l4.seq}`;
  return s;
}

function formatIp(f: EthernetFrame, l3: Ipv4Layer | Ipv6Layer): string {
  const fam = l3.kind === "ipv4" ? "IPv4" : "IPv6";
  const hop = l3.kind === "ipv4" ? `ttl ${l3.ttl}` : `hlim ${l3.hopLimit}`;
  const l4 = f.l4;
  if (l4 === undefined || l4.kind === "unknown") {
    const why = l4 === undefined ? "" : ` (${l4.reason})`;
    return `${fam} ${l3.src} > ${l3.dst}: proto ${l3.proto}${why}, ${hop}`;
  }
  if (l4.kind === "icmp" || l4.kind === "icmpv6") {
    return `${fam} ${l3.src} > ${l3.dst}: ${formatIcmp(l4)}, ${hop}`;
  }
  const ports = `${fam} ${l3.src}.${l4.srcPort} > ${l3.dst}.${l4.dstPort}`;
  if (l4.kind === "tcp") return `${ports}: TCP [${l4.flags.join(",")}], ${hop}`;
  let s = `${ports}: UDP, ${hop}`;
  const g = f.geneve;
  if (g !== undefined) {
    if (g.kind === "unknown") {
      s += `; Geneve unknown (${g.reason})`;
    } else {
      s += `; Geneve vni ${g.vni}`;
      if (g.ovnIngressPortKey !== undefined && g.ovnEgressPortKey !== undefined) {
        s += ` [ovn ingress ${g.ovnIngressPortKey} egress ${g.ovnEgressPortKey}]`;
      }
      s += `: ${formatPacket(g.inner)}`;
    }
  }
  return s;
}

/** One-line tcpdump-like summary of a decoded frame. */
export function formatPacket(d: DecodedFrame): string {
  if (d.kind === "unknown") return `unknown (${d.reason})`;
  let s = `${d.eth.src} > ${d.eth.dst}, `;
  if (d.eth.vlan) s += `${formatVlan(d.eth.vlan)}, `;
  if (d.eth.innerVlan) s += `${formatVlan(d.eth.innerVlan)}, `;
  const l3 = d.l3;
  switch (l3.kind) {
    case "arp":
      if (l3.op === 1) return `${s}ARP, Request who-has ${l3.targetIp} tell ${l3.senderIp}`;
      if (l3.op === 2) return `${s}ARP, Reply ${l3.senderIp} is-at ${l3.senderMac}`;
      return `${s}ARP, op ${l3.op} ${l3.senderIp} (${l3.senderMac}) > ${l3.targetIp} (${l3.targetMac})`;
    case "ipv4":
    case "ipv6":
      return s + formatIp(d, l3);
    case "unknown":
      return `${s}ethertype ${hex16(d.eth.ethType)}, unknown (${l3.reason})`;
  }
}
