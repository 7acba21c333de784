import { describe, expect, it } from "vitest";
import { canonicalIp, contains, macFromIp, parseCidr, parseIp } from "../../src/net/ip.js";

describe("ip", () => {
  it("parses and prints IPv4 and IPv6 canonically (RFC 5952)", () => {
    expect(canonicalIp("10.244.1.3")).toBe("10.244.1.3");
    expect(canonicalIp("fd00:10:244:0::3")).toBe("fd00:10:244::3");
    expect(canonicalIp("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIp("::ffff:a00:1")).toBe("::ffff:10.0.0.1");
    for (const bad of ["10.244.1", "10.244.1.256", "1::2::3", "fd00:::1", "x"])
      expect(parseIp(bad)).toBeUndefined();
  });

  it("checks containment per family", () => {
    const net = parseCidr("10.244.1.0/24");
    const v6 = parseCidr("fd00:10:244:1::/64");
    if (net === undefined || v6 === undefined) throw new Error("parse");
    expect(contains(net, parseIp("10.244.1.200") ?? { family: 4, value: 0n })).toBe(true);
    expect(contains(net, parseIp("10.244.2.1") ?? { family: 4, value: 0n })).toBe(false);
    expect(contains(v6, parseIp("fd00:10:244:1::3") ?? { family: 6, value: 0n })).toBe(true);
    expect(contains(net, parseIp("fd00:10:244:1::3") ?? { family: 6, value: 0n })).toBe(false);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
  });

  it("derives ovn-kubernetes MACs from the address", () => {
    expect(macFromIp(parseIp("10.244.2.4") ?? { family: 4, value: 0n })).toBe("0a:58:0a:f4:02:04");
  });
});
