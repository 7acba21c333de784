import { describe, expect, it } from "vitest";
import { planTraces } from "../../src/engine/plan.js";
import { asJson, expectGolden } from "../golden/golden.js";
import { recordedCase, recordedCaseNames, resolutionOf } from "../golden/recorded.js";

/** The flow argument of a recorded ofproto/trace command, as key → value. */
function flowOf(command: readonly string[]): Map<string, string> {
  const flow = command[3] ?? "";
  return new Map(flow.split(",").map((kv) => [kv.split("=")[0] ?? "", kv.split("=")[1] ?? ""]));
}

describe.each(recordedCaseNames())("planner on the recorded %s", (name) => {
  const c = recordedCase(name);
  const plans = planTraces(resolutionOf(c), c.options);

  it("plans what the recorded run traced: one report per destination, the reply of each pod", () => {
    expect(plans.length).toBe(c.reports.length);
    plans.forEach((p, i) => {
      const r = c.reports[i];
      expect(p.to).toEqual(r?.dst);
      expect(p.reply === undefined).toBe(r?.reply === undefined);
    });
  });

  it("sends each direction's packet as the real ofproto/trace run did (addresses, ports, MAC, ct state)", () => {
    plans.forEach((p, i) => {
      const r = c.reports[i];
      for (const [d, report] of [
        [p.forward, r?.forward],
        [p.reply, r?.reply],
      ] as const) {
        if (d === undefined || report === undefined) continue;
        expect(report.packet).toMatchObject({ srcIp: d.from.ip, dstIp: d.dstIp, ctState: d.ctState });
        if (c.target.protocol !== "icmp")
          expect(report.packet).toMatchObject({ srcPort: d.srcPort, dstPort: d.dstPort });
        const first = report.hops.find((h) => h.tool === "ofproto/trace");
        expect(flowOf(first?.command ?? []).get("dl_dst")).toBe(d.dstMac);
      }
    });
  });

  it("matches its golden plan", () => {
    expectGolden(`${name}.plan.json`, asJson(plans));
  });
});
