import { describe, expect, it } from "vitest";
import { crossingOf, entryFlow, type Crossing, type OpenFlowPacket } from "../../src/engine/stitch.js";
import type { DirectionReport, Hop } from "../../src/model/report.js";
import { parseOfprotoTrace } from "../../src/parsers/ofproto-trace.js";
import { asJson, expectGolden } from "../golden/golden.js";
import { recordedCase, recordedCaseNames, viewOf, type RecordedCase } from "../golden/recorded.js";

/** The flow a recorded ofproto/trace ran with, without the dp_hash the engine adds to pick an LB bucket. */
const flowArg = (h: Hop): string => (h.command[3] ?? "").replace(/^dp_hash=0x[0-9a-f]+,/, "");

/** The packet of a recorded ofproto/trace command (what the engine built it from). */
function packetOf(h: Hop, d: DirectionReport): OpenFlowPacket {
  const f = new Map(
    flowArg(h)
      .split(",")
      .map((kv) => [kv.split("=")[0] ?? "", kv.split("=")[1] ?? ""]),
  );
  const v6 = d.packet.family === 6;
  const p = d.packet.protocol;
  const port = (k: string): number | undefined =>
    f.has(`${p}_${k}`) ? Number(f.get(`${p}_${k}`)) : undefined;
  const srcPort = port("src");
  const dstPort = port("dst");
  return {
    family: d.packet.family,
    protocol: p,
    ethSrc: f.get("dl_src") ?? "",
    ethDst: f.get("dl_dst") ?? "",
    src: f.get(v6 ? "ipv6_src" : "nw_src") ?? "",
    dst: f.get(v6 ? "ipv6_dst" : "nw_dst") ?? "",
    ttl: Number(f.get("nw_ttl")),
    ...(srcPort === undefined ? {} : { srcPort }),
    ...(dstPort === undefined ? {} : { dstPort }),
  };
}

/** The ofproto/trace hops that decided where the packet went (not the first pass of a load balancer's group). */
const deciding = (d: DirectionReport): Hop[] =>
  d.hops.filter(
    (h) =>
      h.tool === "ofproto/trace" &&
      !(h.outcome.kind === "output" && h.outcome.port === "load balancer select group"),
  );

function directions(c: RecordedCase): [string, DirectionReport][] {
  return c.reports.flatMap((r, i) => [
    [`${String(i)}.forward`, r.forward] as [string, DirectionReport],
    ...(r.reply === undefined ? [] : [[`${String(i)}.reply`, r.reply] as [string, DirectionReport]]),
  ]);
}

describe.each(recordedCaseNames())("stitcher on the recorded %s", (name) => {
  const c = recordedCase(name);

  it.each(directions(c))(
    "%s: each node's trace leads to the next recorded trace, the last to the verdict",
    (_, d) => {
      const hops = deciding(d);
      const all = d.hops.filter((h) => h.tool === "ofproto/trace");
      expect(hops.length).toBeGreaterThan(0);
      hops.forEach((h, i) => {
        const crossing = crossingOf(parseOfprotoTrace(h.output), viewOf(c, h.node), packetOf(h, d));
        const next = all[all.indexOf(h) + 1];
        if (next === undefined) {
          expect(crossing.kind).toBe("end");
          const v = d.verdict;
          const end = crossing.kind === "end" ? crossing.end : undefined;
          if (v.kind === "delivered")
            expect(end).toMatchObject({ kind: "delivered", node: v.node, iface: v.port });
          else if (v.kind === "left-cluster")
            expect(end).toMatchObject({ kind: "left-cluster", node: v.node, iface: v.via });
          else if (v.kind === "dropped") expect(end).toMatchObject({ kind: "dropped", node: v.node });
          else throw new Error(`recorded verdict ${v.kind} is not one the stitcher ends with`);
          return;
        }
        expect(crossing).toMatchObject({ kind: "tunnel", toNode: next.node });
        if (crossing.kind !== "tunnel") return;
        expect(entryFlow(crossing, viewOf(c, next.node))).toEqual({ flow: flowArg(next) });
        expect(hops[i + 1]?.node).toBe(next.node);
      });
    },
  );

  it("matches its golden crossings", () => {
    const crossings: Record<string, Crossing[]> = {};
    for (const [key, d] of directions(c))
      crossings[key] = deciding(d).map((h) =>
        crossingOf(parseOfprotoTrace(h.output), viewOf(c, h.node), packetOf(h, d)),
      );
    expectGolden(`${name}.stitch.json`, asJson(crossings));
  });
});
