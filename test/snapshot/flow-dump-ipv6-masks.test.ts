import { describe, expect, it } from "vitest";
import { parseIp } from "../../src/net/ip.js";
import { run } from "../../src/ovs/exec.js";
import { restorableFlows } from "../../src/snapshot/flow-dump.js";

/**
 * A flow with a non-prefix IPv6 mask, as a real OVS 3.1 dumped it (OVN's flow for an EgressFirewall rule
 * `ip6.dst == ::/0 && ip6.dst != fd00:10:244::/48`): the restorable line must be one real ovs-ofctl reads back,
 * to the very match it printed.
 */
const DUMPED =
  " cookie=0x876eddbd, duration=12.5s, table=46, n_packets=0, n_bytes=0, idle_age=12, priority=10993,ipv6,reg0=0x200/0x200,reg14=0x2,metadata=0x7,ipv6_dst=0:0:1000::/0:0:1000:: actions=drop";
const PRINTED_MATCH =
  "priority=10993,ipv6,reg0=0x200/0x200,reg14=0x2,metadata=0x7,ipv6_dst=0:0:1000::/0:0:1000::";

const parseFlow = (flow: string) =>
  run(["ovs-ofctl", "-O", "OpenFlow15", "parse-flow", flow], { timeoutMs: 30_000 });

describe("restorable flows with non-prefix IPv6 masks", () => {
  it("as printed, ovs-ofctl refuses the line (what the rewrite is for)", async () => {
    const r = await parseFlow(`table=46, ${PRINTED_MATCH} actions=drop`);
    expect(r.exitCode).not.toBe(0);
  });

  it("the restorable line reads back to the same match", async () => {
    const d = restorableFlows(DUMPED);
    expect(d.count).toBe(1);
    const line = d.text.trim();
    expect(line).not.toMatch(/n_packets|duration/);
    const r = await parseFlow(line);
    expect(r.stderr).not.toMatch(/invalid/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`${PRINTED_MATCH} cookie:0x876eddbd actions=drop`);
  });

  it("a mask with no text ovs-ofctl reads (first group 100) becomes flows that match the same packets", async () => {
    const dumped =
      "cookie=0x626da215, table=46, priority=10993,ipv6,reg0=0x400/0x400,reg14=0x2,metadata=0x7,ipv6_dst=::/100:: actions=drop";
    const before = await parseFlow(dumped.replace("ipv6_dst=::/100::", "ipv6_dst=::/ffff::"));
    expect(before.exitCode).toBe(0);
    const lines = restorableFlows(dumped).text.trim().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    const want = { value: 0n, mask: 0x100n << 112n };
    const seen = new Set<bigint>();
    let extra = -1n;
    for (const line of lines) {
      const r = await parseFlow(line);
      expect(r.exitCode, `${line}: ${r.stderr}`).toBe(0);
      // what ovs-ofctl read: same priority, cookie, other fields and actions; a wider mask
      const m =
        /priority=10993,ipv6,reg0=0x400\/0x400,reg14=0x2,metadata=0x7,ipv6_dst=([0-9a-f:]+)\/([0-9a-f:]+) cookie:0x626da215 actions=drop/.exec(
          r.stdout,
        );
      expect(m, r.stdout).not.toBeNull();
      const value = parseIp(m?.[1] ?? "")?.value ?? -1n;
      const mask = parseIp(m?.[2] ?? "")?.value ?? -1n;
      expect(mask & want.mask).toBe(want.mask);
      expect(value & want.mask).toBe(want.value);
      if (extra === -1n) extra = mask & ~want.mask;
      expect(mask & ~want.mask).toBe(extra);
      seen.add(value & extra);
    }
    // every value of the added bits once: together exactly the packets of the original flow
    expect(seen.size).toBe(lines.length);
    expect(BigInt(lines.length)).toBe(1n << BigInt(extra.toString(2).replace(/0/g, "").length));
  });

  it("prefix masks and actions are left as they are", () => {
    const flow =
      "cookie=0x1, table=20, priority=100,ipv6,ipv6_dst=fd00:10:244::/48 actions=set_field:0:0:1::/0:0:1::->ipv6_src,resubmit(,21)";
    expect(restorableFlows(flow).text).toBe(`${flow}\n`);
  });
});
