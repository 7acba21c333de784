import { describe, expect, it } from "vitest";
import { learnedFlow, mismatches, type LearnedFlow } from "../../src/engine/hairpin-reply.js";

/** The learn actions of OVN 23.03's chk_lb_hairpin flows (table 68), as ofproto/trace prints them on the lab. */
const LEARN_V4 =
  "learn(table=69,delete_learned,cookie=0xdc614f67,OXM_OF_METADATA[],eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=169.254.0.5,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])";
const LEARN_V6 =
  "learn(table=69,delete_learned,cookie=0xdc614f67,OXM_OF_METADATA[],eth_type=0x86dd,NXM_NX_IPV6_SRC[],ipv6_dst=fd69::5,nw_proto=6,NXM_OF_TCP_SRC[]=NXM_OF_TCP_DST[],load:0x1->NXM_NX_REG10[7])";

/** The first packet where it learns: after the load balancer's DNAT to the pod itself. */
const FIRST_V4 = {
  metadata: "0x2",
  nw_src: "10.128.1.17",
  nw_dst: "10.128.1.17",
  tp_src: "52888",
  tp_dst: "8080",
  eth_type: "0x800",
  nw_proto: "6",
};

const flow = (text: string, values: Record<string, string>): LearnedFlow => {
  const f = learnedFlow(text, values);
  if ("error" in f) throw new Error(f.error);
  return f;
};

describe("the flow a hairpin's first packet makes OVS learn", () => {
  it("copies the datapath, the pod's address and the backend port, and sets the hairpin SNAT address", () => {
    const f = flow(LEARN_V4, FIRST_V4);
    expect(f.table).toBe(69);
    expect(Object.fromEntries(f.match)).toEqual({
      metadata: "0x2",
      eth_type: "0x800",
      nw_src: "10.128.1.17",
      nw_dst: "169.254.0.5",
      nw_proto: "6",
      tp_src: "8080",
    });
    expect(f.load).toEqual({ register: "reg10", bit: 7 });
  });

  it("matches the pod's reply to the hairpin SNAT address from the backend port, whatever the client port", () => {
    const f = flow(LEARN_V4, FIRST_V4);
    const reply = { ...FIRST_V4, nw_dst: "169.254.0.5", tp_src: "8080", tp_dst: "41000" };
    expect(mismatches(f, reply)).toEqual([]);
    expect(mismatches(f, { ...reply, tp_src: "8081" })).toEqual(["tp_src=8081 (learned: 8080)"]);
    expect(mismatches(f, { ...reply, metadata: "0x3" })).toEqual(["metadata=0x3 (learned: 0x2)"]);
  });

  it("IPv6: addresses compared by value, not by spelling", () => {
    const f = flow(LEARN_V6, {
      ...FIRST_V4,
      eth_type: "0x86dd",
      ipv6_src: "fd01:0:0:100::1:17",
      ipv6_dst: "fd01:0:0:100::1:17",
    });
    const reply = {
      metadata: "0x2",
      eth_type: "0x86dd",
      nw_proto: "6",
      ipv6_src: "fd01::100:0:0:1:17",
      ipv6_dst: "fd69:0::5",
      tp_src: "8080",
    };
    expect(mismatches(f, reply)).toEqual([]);
    expect(mismatches(f, { ...reply, eth_type: "0x800" })).toEqual(["eth_type=0x800 (learned: 0x86dd)"]);
  });

  it("a learn action with a part it cannot read is an error naming it, not a guess", () => {
    const odd = LEARN_V4.replace("nw_proto=6", "NXM_NX_CT_MARK[]");
    expect(learnedFlow(odd, FIRST_V4)).toEqual({
      error: "its learn action copies a field this tool does not read (NXM_NX_CT_MARK[])",
    });
    expect(learnedFlow("learn(OXM_OF_METADATA[])", FIRST_V4)).toEqual({
      error: "its learn action names no table",
    });
  });
});
