import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  decodeFrame,
  formatPacket,
  PcapError,
  readPcap,
  type DecodedFrame,
  type EthernetFrame,
  type GeneveLayer,
  type PcapPacket,
} from "../../src/lab/pcap.js";

// Fixtures are real files written by OVS 3.1.0 netdev-dummy ports; see test/fixtures/pcap/README.md.
function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../fixtures/pcap/${name}`, import.meta.url)));
}

const BASIC = fixture("dummy-p2-tx.pcap");
const VLAN = fixture("dummy-vlan-p4-tx.pcap");
const GENEVE = fixture("geneve-eth0-tx.pcap");
const GENEVE_SRC = fixture("geneve-pod-rx.pcap");
const HEADER_ONLY = fixture("header-only-p1-tx.pcap");

// What was injected with `ovs-appctl netdev-dummy/receive p1 ...` (README), in order.
const POD_MAC = "0a:58:0a:f4:01:03";
const GW_MAC = "0a:58:0a:f4:01:01";
const BASIC_CAPLENS = [106, 54, 106, 126, 126, 42, 54];

function eth(d: DecodedFrame): EthernetFrame {
  if (d.kind !== "eth") throw new Error(`expected an Ethernet frame, got ${d.reason}`);
  return d;
}

function geneve(d: DecodedFrame): GeneveLayer {
  const g = eth(d).geneve;
  if (g?.kind !== "geneve") throw new Error("expected a Geneve layer");
  return g;
}

function pkt(pkts: PcapPacket[], i: number): PcapPacket {
  const p = pkts[i];
  if (p === undefined) throw new Error(`no packet #${i}`);
  return p;
}

/** Every layer (recursively through Geneve) that stopped as unknown. */
function unknownReasons(d: DecodedFrame): string[] {
  if (d.kind === "unknown") return [d.reason];
  const out: string[] = [];
  if (d.l3.kind === "unknown") out.push(d.l3.reason);
  if (d.l4?.kind === "unknown") out.push(d.l4.reason);
  if (d.geneve?.kind === "unknown") out.push(d.geneve.reason);
  if (d.geneve?.kind === "geneve") out.push(...unknownReasons(d.geneve.inner));
  return out;
}

/** Re-encode a little-endian µs pcap (what OVS writes) as big-endian and/or nanosecond. */
function reencode(src: Uint8Array, bigEndian: boolean, nano: boolean): Uint8Array {
  const out = new Uint8Array(src.length);
  out.set(src);
  const i = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const o = new DataView(out.buffer);
  o.setUint32(0, nano ? 0xa1b23c4d : 0xa1b2c3d4, !bigEndian);
  o.setUint16(4, i.getUint16(4, true), !bigEndian);
  o.setUint16(6, i.getUint16(6, true), !bigEndian);
  for (const k of [8, 12, 16, 20]) o.setUint32(k, i.getUint32(k, true), !bigEndian);
  let off = 24;
  while (off < src.length) {
    const caplen = i.getUint32(off + 8, true);
    o.setUint32(off, i.getUint32(off, true), !bigEndian);
    o.setUint32(off + 4, i.getUint32(off + 4, true) * (nano ? 1000 : 1) + (nano ? 789 : 0), !bigEndian);
    o.setUint32(off + 8, caplen, !bigEndian);
    o.setUint32(off + 12, i.getUint32(off + 12, true), !bigEndian);
    off += 16 + caplen;
  }
  return out;
}

describe("readPcap", () => {
  it("reads the real OVS tx_pcap file: count, lengths, timestamps", () => {
    const pkts = readPcap(BASIC);
    expect(pkts.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(pkts.map((p) => p.length)).toEqual(BASIC_CAPLENS);
    expect(pkts.map((p) => p.frame.length)).toEqual(BASIC_CAPLENS);
    // record headers as printed by Python struct.unpack("<IIII") (README)
    expect(pkt(pkts, 0).timestampUs).toBe(1795433809 * 1e6 + 207960);
    expect(pkt(pkts, 6).timestampUs).toBe(1795433809 * 1e6 + 227687);
    for (let k = 1; k < pkts.length; k++) {
      expect(pkt(pkts, k).timestampUs).toBeGreaterThan(pkt(pkts, k - 1).timestampUs);
    }
  });

  it("empty file and header-only file mean zero packets", () => {
    expect(HEADER_ONLY.length).toBe(24);
    expect(readPcap(HEADER_ONLY)).toEqual([]);
    expect(readPcap(new Uint8Array(0))).toEqual([]);
  });

  it("reads the same packets in both byte orders and with the nanosecond magic", () => {
    const ref = readPcap(BASIC);
    const be = readPcap(reencode(BASIC, true, false));
    expect(be).toEqual(ref);
    for (const bigEndian of [false, true]) {
      const ns = readPcap(reencode(BASIC, bigEndian, true));
      expect(ns.map((p) => p.timestampUs)).toEqual(ref.map((p) => p.timestampUs));
      expect(ns.map((p) => Array.from(p.frame))).toEqual(ref.map((p) => Array.from(p.frame)));
    }
  });

  it("works on a Uint8Array view with a non-zero byteOffset", () => {
    const big = new Uint8Array(BASIC.length + 7);
    big.set(BASIC, 7);
    expect(readPcap(big.subarray(7)).map((p) => p.length)).toEqual(BASIC_CAPLENS);
  });

  it("reports a truncated trailing record with its byte offset, or skips it when allowed", () => {
    const starts = [24];
    for (const c of BASIC_CAPLENS) starts.push((starts[starts.length - 1] ?? 0) + 16 + c);
    expect(starts[starts.length - 1]).toBe(BASIC.length);
    for (let cut = 24; cut <= BASIC.length; cut++) {
      const buf = BASIC.subarray(0, cut);
      const complete = starts.filter((s) => s <= cut).length - 1;
      const lenient = readPcap(buf, { allowTruncatedTail: true });
      expect(lenient.length).toBe(complete);
      if (starts.includes(cut)) {
        expect(readPcap(buf).length).toBe(complete);
        continue;
      }
      let err: unknown;
      try {
        readPcap(buf);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PcapError);
      expect(err).toBeInstanceOf(Error);
      expect((err as PcapError).name).toBe("PcapError");
      expect((err as PcapError).offset).toBe(starts[complete]);
      expect((err as PcapError).message).toContain(`offset ${starts[complete] ?? -1}`);
    }
  });

  it("a partial file header is an error at offset 0, or zero packets when allowed", () => {
    expect(() => readPcap(BASIC.subarray(0, 10))).toThrow(PcapError);
    expect(readPcap(BASIC.subarray(0, 10), { allowTruncatedTail: true })).toEqual([]);
    expect(readPcap(BASIC.subarray(0, 3), { allowTruncatedTail: true })).toEqual([]);
  });

  it("rejects a bad magic and a non-Ethernet link type, even with allowTruncatedTail", () => {
    const bad = new Uint8Array(BASIC);
    bad[0] = 0x0a;
    bad[1] = 0x0d;
    bad[2] = 0x0d;
    bad[3] = 0x0a; // pcapng section header block
    expect(() => readPcap(bad, { allowTruncatedTail: true })).toThrow(/bad magic 0x0a0d0d0a/);
    const linux = new Uint8Array(BASIC);
    new DataView(linux.buffer).setUint32(20, 113, true); // LINKTYPE_LINUX_SLL
    expect(() => readPcap(linux)).toThrow(PcapError);
    try {
      readPcap(linux);
    } catch (e) {
      expect((e as PcapError).offset).toBe(20);
    }
  });
});

describe("decodeFrame on real OVS netdev-dummy captures", () => {
  const d = readPcap(BASIC).map((p) => decodeFrame(p.frame));
  const at = (i: number): EthernetFrame => eth(d[i] ?? { kind: "unknown", reason: "missing", length: 0 });

  it("IPv4 UDP", () => {
    const f = at(0);
    expect(f.eth).toEqual({ src: POD_MAC, dst: GW_MAC, ethType: 0x0800 });
    expect(f.l3).toMatchObject({ kind: "ipv4", src: "10.244.1.3", dst: "10.244.2.3", ttl: 64, proto: 17 });
    expect(f.l3).toMatchObject({ tos: 0, headerLength: 20, fragmentOffset: 0, moreFragments: false });
    expect(f.l4).toMatchObject({ kind: "udp", srcPort: 33333, dstPort: 53 });
    expect(f.geneve).toBeUndefined();
    expect(formatPacket(f)).toBe(
      `${POD_MAC} > ${GW_MAC}, IPv4 10.244.1.3.33333 > 10.244.2.3.53: UDP, ttl 64`,
    );
  });

  it("IPv4 TCP SYN and SYN+ACK", () => {
    expect(at(1).l3).toMatchObject({ kind: "ipv4", src: "10.244.1.3", dst: "10.244.2.4", proto: 6, ttl: 64 });
    expect(at(1).l4).toMatchObject({ kind: "tcp", srcPort: 40000, dstPort: 8080, flags: ["syn"] });
    expect(at(6).l4).toMatchObject({ kind: "tcp", srcPort: 40000, dstPort: 8080, flags: ["syn", "ack"] });
    expect(formatPacket(at(6))).toBe(
      `${POD_MAC} > ${GW_MAC}, IPv4 10.244.1.3.40000 > 10.244.2.4.8080: TCP [syn,ack], ttl 64`,
    );
  });

  it("ICMP echo request", () => {
    expect(at(2).l3).toMatchObject({ kind: "ipv4", src: "10.244.1.3", dst: "10.244.2.5", proto: 1 });
    // OVS's flow_compose leaves the echo id/seq zero
    expect(at(2).l4).toEqual({ kind: "icmp", type: 8, code: 0, id: 0, seq: 0 });
    expect(formatPacket(at(2))).toBe(
      `${POD_MAC} > ${GW_MAC}, IPv4 10.244.1.3 > 10.244.2.5: ICMP echo request, id 0, seq 0, ttl 64`,
    );
  });

  it("IPv6 UDP", () => {
    const f = at(3);
    expect(f.eth.ethType).toBe(0x86dd);
    expect(f.l3).toMatchObject({
      kind: "ipv6",
      src: "fd00:10:244:1::3",
      dst: "fd00:10:244:2::3",
      hopLimit: 64,
      nextHeader: 17,
      proto: 17,
      trafficClass: 0,
      flowLabel: 0,
    });
    expect(f.l4).toMatchObject({ kind: "udp", srcPort: 33334, dstPort: 5353 });
    expect(formatPacket(f)).toBe(
      `${POD_MAC} > ${GW_MAC}, IPv6 fd00:10:244:1::3.33334 > fd00:10:244:2::3.5353: UDP, hlim 64`,
    );
  });

  it("ICMPv6 echo request", () => {
    expect(at(4).l3).toMatchObject({ kind: "ipv6", nextHeader: 58, hopLimit: 64 });
    expect(at(4).l4).toMatchObject({ kind: "icmpv6", type: 128, code: 0 });
    expect(formatPacket(at(4))).toMatch(/: ICMPv6 echo request, id 0, seq 0, hlim 64$/);
  });

  it("ARP request", () => {
    const f = at(5);
    expect(f.eth).toEqual({ src: POD_MAC, dst: "ff:ff:ff:ff:ff:ff", ethType: 0x0806 });
    expect(f.l3).toEqual({
      kind: "arp",
      op: 1,
      senderMac: POD_MAC,
      senderIp: "10.244.1.3",
      targetMac: "00:00:00:00:00:00",
      targetIp: "10.244.1.1",
    });
    expect(f.l4).toBeUndefined();
    expect(formatPacket(f)).toBe(
      `${POD_MAC} > ff:ff:ff:ff:ff:ff, ARP, Request who-has 10.244.1.1 tell 10.244.1.3`,
    );
  });

  it("802.1Q VLAN tag pushed by an OpenFlow mod_vlan_vid:100", () => {
    const [p] = readPcap(VLAN);
    const f = eth(decodeFrame(p?.frame ?? new Uint8Array()));
    expect(f.eth).toEqual({
      src: "0a:58:0a:f4:01:07",
      dst: "0a:58:0a:f4:01:08",
      vlan: { tpid: 0x8100, id: 100, pcp: 0, dei: false },
      ethType: 0x0800,
    });
    expect(f.l3).toMatchObject({ kind: "ipv4", src: "10.244.1.7", dst: "10.244.1.8" });
    expect(f.l4).toMatchObject({ kind: "udp", srcPort: 1111, dstPort: 2222 });
    expect(formatPacket(f)).toBe(
      "0a:58:0a:f4:01:07 > 0a:58:0a:f4:01:08, vlan 100, IPv4 10.244.1.7.1111 > 10.244.1.8.2222: UDP, ttl 64",
    );
  });

  it("every decoded frame is plain JSON data", () => {
    for (const f of d) expect(JSON.parse(JSON.stringify(f))).toStrictEqual(f);
  });
});

describe("Geneve (real OVS geneve tunnel port, captured on the underlay dummy port)", () => {
  const pkts = readPcap(GENEVE);
  const [g1, g2] = pkts.map((p) => decodeFrame(p.frame));
  const sent = readPcap(GENEVE_SRC);

  it("outer headers", () => {
    expect(pkts.length).toBe(2);
    const f = eth(g1 ?? decodeFrame(new Uint8Array()));
    expect(f.eth).toEqual({ src: "02:42:ac:12:00:03", dst: "02:42:ac:12:00:04", ethType: 0x0800 });
    expect(f.l3).toMatchObject({ kind: "ipv4", src: "172.18.0.3", dst: "172.18.0.4", proto: 17, ttl: 64 });
    expect(f.l3).toMatchObject({ dontFragment: true });
    expect(f.l4).toMatchObject({ kind: "udp", dstPort: 6081 });
  });

  it("VNI, OVN option and inner IPv4 UDP frame", () => {
    const g = geneve(g1 ?? decodeFrame(new Uint8Array()));
    expect(g.vni).toBe(0xff0003);
    expect(g.protocolType).toBe(0x6558);
    expect(g.options).toEqual([{ class: 0x0102, type: 0x80, data: "00030004" }]);
    expect(g.ovnIngressPortKey).toBe(3);
    expect(g.ovnEgressPortKey).toBe(4);
    const inner = eth(g.inner);
    expect(inner.eth).toEqual({ src: "0a:58:64:58:00:03", dst: "0a:58:64:58:00:04", ethType: 0x0800 });
    // dec_ttl in the flow: 64 -> 63
    expect(inner.l3).toMatchObject({ kind: "ipv4", src: "10.244.1.3", dst: "10.244.2.3", ttl: 63 });
    expect(inner.l4).toMatchObject({ kind: "udp", srcPort: 33333, dstPort: 53 });
    expect(formatPacket(g1 ?? decodeFrame(new Uint8Array()))).toMatch(
      /^02:42:ac:12:00:03 > 02:42:ac:12:00:04, IPv4 172\.18\.0\.3\.\d+ > 172\.18\.0\.4\.6081: UDP, ttl 64; Geneve vni 16711683 \[ovn ingress 3 egress 4\]: 0a:58:64:58:00:03 > 0a:58:64:58:00:04, IPv4 10\.244\.1\.3\.33333 > 10\.244\.2\.3\.53: UDP, ttl 63$/,
    );
  });

  it("inner IPv6 TCP SYN frame", () => {
    const inner = eth(geneve(g2 ?? decodeFrame(new Uint8Array())).inner);
    expect(inner.l3).toMatchObject({
      kind: "ipv6",
      src: "fd00:10:244:1::3",
      dst: "fd00:10:244:2::3",
      hopLimit: 63,
      nextHeader: 6,
    });
    expect(inner.l4).toMatchObject({ kind: "tcp", srcPort: 40001, dstPort: 443, flags: ["syn"] });
  });

  it("the inner L4 bytes are exactly the ones injected on the pod port", () => {
    // outer eth 14 + ipv4 20 + udp 8 + geneve 8 + option 8 = 58, then inner eth 14
    const innerOff = 58 + 14;
    const cases: [number, number][] = [
      [0, 20], // IPv4 header
      [1, 40], // IPv6 header
    ];
    for (const [i, l3len] of cases) {
      const outer = pkt(pkts, i).frame;
      const orig = pkt(sent, i).frame;
      expect(Array.from(outer.subarray(innerOff + l3len))).toEqual(Array.from(orig.subarray(14 + l3len)));
    }
  });

  it("OVN option keys are masked as ovn-controller defines them", () => {
    const frame = new Uint8Array(pkt(pkts, 0).frame);
    frame.set([0xff, 0xff, 0xff, 0xff], 54); // option data
    const g = geneve(decodeFrame(frame));
    expect(g.ovnIngressPortKey).toBe(0x7fff);
    expect(g.ovnEgressPortKey).toBe(0xffff);
    frame[52] = 0x81; // other option type: no OVN keys
    const h = geneve(decodeFrame(frame));
    expect(h.ovnIngressPortKey).toBeUndefined();
    expect(h.options).toEqual([{ class: 0x0102, type: 0x81, data: "ffffffff" }]);
  });
});

describe("decodeFrame never throws on short or unknown data", () => {
  const frames = [...readPcap(BASIC), ...readPcap(VLAN), ...readPcap(GENEVE)].map((p) => p.frame);

  it("every prefix of every real frame decodes to JSON data, stopping at an unknown layer", () => {
    for (const frame of frames) {
      const full = decodeFrame(frame);
      expect(unknownReasons(full)).toEqual([]);
      for (let n = 0; n < frame.length; n++) {
        const d = decodeFrame(frame.subarray(0, n));
        expect(JSON.parse(JSON.stringify(d))).toStrictEqual(d);
        for (const r of unknownReasons(d)) expect(r).not.toMatch(/decoder error/);
        void formatPacket(d);
      }
    }
  });

  it("marks the layer where decoding stops", () => {
    const udp = pkt(readPcap(BASIC), 0).frame;
    expect(decodeFrame(udp.subarray(0, 13))).toMatchObject({ kind: "unknown", length: 13 });
    expect(eth(decodeFrame(udp.subarray(0, 14))).l3).toMatchObject({ kind: "unknown", length: 0 });
    const noUdp = eth(decodeFrame(udp.subarray(0, 34 + 4)));
    expect(noUdp.l3).toMatchObject({ kind: "ipv4", src: "10.244.1.3", truncated: true });
    expect(noUdp.l4).toMatchObject({ kind: "unknown", length: 4 });
    const gen = pkt(readPcap(GENEVE), 0).frame;
    const shortGeneve = eth(decodeFrame(gen.subarray(0, 42 + 12)));
    expect(shortGeneve.l4).toMatchObject({ kind: "udp", dstPort: 6081 });
    expect(shortGeneve.geneve).toMatchObject({ kind: "unknown" });
    const shortInner = geneve(decodeFrame(gen.subarray(0, 58 + 10)));
    expect(shortInner.inner).toMatchObject({ kind: "unknown", length: 10 });
  });

  it("unsupported ethertype and IP protocol", () => {
    const lldp = new Uint8Array(pkt(readPcap(BASIC), 0).frame);
    lldp.set([0x88, 0xcc], 12);
    const f = eth(decodeFrame(lldp));
    expect(f.l3).toMatchObject({ kind: "unknown", reason: "unsupported ethertype 0x88cc" });
    expect(formatPacket(f)).toContain("ethertype 0x88cc, unknown");
    const sctp = new Uint8Array(pkt(readPcap(BASIC), 0).frame);
    sctp[14 + 9] = 132;
    expect(eth(decodeFrame(sctp)).l4).toMatchObject({
      kind: "unknown",
      reason: "unsupported IP protocol 132",
    });
  });

  it("random and mutated bytes", () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let k = 0; k < 3000; k++) {
      const base = frames[rnd(frames.length)] ?? new Uint8Array();
      const b = new Uint8Array(k % 3 === 0 ? rnd(200) : base.length);
      if (k % 3 === 0) for (let j = 0; j < b.length; j++) b[j] = rnd(256);
      else {
        b.set(base);
        for (let m = 0; m < 1 + rnd(4); m++) b[rnd(b.length)] = rnd(256);
      }
      const d = decodeFrame(b.subarray(0, rnd(b.length + 1)));
      for (const r of unknownReasons(d)) expect(r).not.toMatch(/decoder error/);
      expect(typeof formatPacket(d)).toBe("string");
    }
  });
});

describe("IPv6 text form (RFC 5952)", () => {
  const v6 = pkt(readPcap(BASIC), 3).frame;
  function srcOf(groups: number[]): string {
    const f = new Uint8Array(v6);
    groups.forEach((g, i) => {
      f[14 + 8 + 2 * i] = g >> 8;
      f[14 + 8 + 2 * i + 1] = g & 0xff;
    });
    const l3 = eth(decodeFrame(f)).l3;
    return l3.kind === "ipv6" ? l3.src : "";
  }

  it("compresses the first longest run of two or more zero groups, lowercase, no leading zeros", () => {
    expect(srcOf([0xfd00, 0x10, 0x244, 0x2, 0, 0, 0, 0x3])).toBe("fd00:10:244:2::3");
    expect(srcOf([0x2001, 0xdb8, 0, 0, 0, 0, 2, 1])).toBe("2001:db8::2:1");
    expect(srcOf([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe("2001:db8:0:1:1:1:1:1");
    expect(srcOf([0x2001, 0, 0, 1, 0, 0, 0, 1])).toBe("2001:0:0:1::1");
    expect(srcOf([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe("2001:db8::1:0:0:1");
    expect(srcOf([0, 0, 0, 0, 0, 0, 0, 0])).toBe("::");
    expect(srcOf([0, 0, 0, 0, 0, 0, 0, 1])).toBe("::1");
    expect(srcOf([0xfe80, 0, 0, 0, 0, 0, 0, 0])).toBe("fe80::");
    expect(srcOf([0xabcd, 0xef01, 0, 0, 0, 0, 0, 0])).toBe("abcd:ef01::");
    expect(srcOf([0, 0, 0, 0, 0, 0xffff, 0x0af4, 0x0103])).toBe("::ffff:10.244.1.3");
  });

  it("agrees with the WHATWG URL serializer on random addresses", () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let k = 0; k < 500; k++) {
      const g = Array.from({ length: 8 }, () => (rnd(2) === 0 ? 0 : rnd(3) === 0 ? rnd(16) : rnd(0x10000)));
      if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) continue; // mixed notation differs
      const viaUrl = new URL(`http://[${g.map((x) => x.toString(16)).join(":")}]/`).hostname;
      expect(`[${srcOf(g)}]`).toBe(viaUrl);
    }
  });
});
