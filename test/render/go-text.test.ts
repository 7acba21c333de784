import { describe, expect, it } from "vitest";
import type { Check, DirectionReport, Hop, TraceReport } from "../../src/model/report.js";
import { firstFailure, renderGoText } from "../../src/render/go-text.js";
import { resolutionText } from "../../src/render/resolution-text.js";
import { expectGolden } from "../golden/golden.js";
import { recordedCase, recordedCaseNames, resolutionOf } from "../golden/recorded.js";

describe.each(recordedCaseNames())("text renderers on the recorded %s", (name) => {
  const c = recordedCase(name);
  // level 4 prints every tool output and command line: one case of each shape keeps the files small
  const levels = name.endsWith("policy-drop-tcp80") ? [0, 1, 4] : [0, 1];
  it.each(levels)("the Go tool's lines at -loglevel %i", (loglevel) => {
    expectGolden(
      `${name}.loglevel-${String(loglevel)}.txt`,
      `${renderGoText(c.reports, { loglevel, color: false })}\n`,
    );
  });
  it("the resolution (-loglevel 5)", () => {
    expectGolden(`${name}.resolution.txt`, `${resolutionText(resolutionOf(c))}\n`);
  });
});

/**
 * The Go tool's stdout, line for line: ovn-kubernetes go-controller/cmd/ovnkube-trace/ovnkube-trace.go at
 * 6c366bb49d6fa57c80d6b39834952ce1d4d9dbb6 (printSuccessOrFailure, runOvnTraceToService, runOvnTraceToPod,
 * runOvnTraceToRemotePod, runOfprotoTraceToPod, runOvnTraceToIP, runOfprotoTraceToIP, runOvnDetrace, main).
 */
const ok = (what: string, from: string, to: string): string =>
  `${what} indicates success from ${from} to ${to}`;
const bad = (what: string, from: string, to: string): string =>
  `${what} indicates failure from ${from} to ${to}`;

const goLines = (reports: readonly TraceReport[], loglevel = 0): string[] => {
  const text = renderGoText(reports, { loglevel, color: false, goOnly: true });
  return text === "" ? [] : text.split("\n");
};

/** Pod to pod, both ways, in the Go tool's order; "(remote)" lines when the peer is in another zone. */
function podToPod(src: string, dst: string, remote: boolean, detrace: boolean): string[] {
  const fwd = "source pod to destination pod";
  const rev = "destination pod to source pod";
  return [
    ok(`ovn-trace ${fwd}`, src, dst),
    ...(remote ? [ok(`ovn-trace (remote) ${fwd}`, src, dst)] : []),
    ok(`ovn-trace ${rev}`, dst, src),
    ...(remote ? [ok(`ovn-trace (remote) ${rev}`, dst, src)] : []),
    ok(`ovs-appctl ofproto/trace ${fwd}`, src, dst),
    ok(`ovs-appctl ofproto/trace ${rev}`, dst, src),
    ...(detrace ? [ok(`ovn-detrace ${fwd}`, src, dst), ok(`ovn-detrace ${rev}`, dst, src)] : []),
  ];
}

function toService(backend: string, remote: boolean): string[] {
  return [
    ok("ovn-trace source pod to service clusterIP", "client", "kube-dns"),
    ...(remote ? [ok("ovn-trace (remote) source pod to service clusterIP", "client", backend)] : []),
    ...podToPod("client", backend, remote, false),
  ];
}

const X7K2P = "coredns-5d78c9869d-x7k2p";
const QM4ZT = "coredns-5d78c9869d-qm4zt";
const IP = "198.51.100.7";

/** Every recorded kind, in both shapes: exactly the lines the Go tool prints, in its order. */
const EXPECTED: Record<string, string[]> = {
  "central-pod-to-pod-tcp8080": podToPod("client", "web", false, false),
  "interconnect-pod-to-pod-tcp8080": podToPod("client", "web", true, false),
  // the Go tool exits at its first failure: here the source zone's ovn-trace (one zone holds both pods)
  "central-policy-drop-tcp80": [bad("ovn-trace source pod to destination pod", "client", "web")],
  // on interconnect the source zone hands the packet to the transit switch: the destination zone drops it
  "interconnect-policy-drop-tcp80": [
    ok("ovn-trace source pod to destination pod", "client", "web"),
    bad("ovn-trace (remote) source pod to destination pod", "client", "web"),
  ],
  // one report per backend (-all-backends): the Go tool's lines for each
  "central-service-udp53": [...toService(X7K2P, false), ...toService(QM4ZT, false)],
  "interconnect-service-udp53": [...toService(X7K2P, true), ...toService(QM4ZT, true)],
  "central-external-udp443": [
    ok("ovn-trace from pod to IP", "client", IP),
    ok("ovs-appctl ofproto/trace pod to IP", "client", IP),
  ],
  "interconnect-external-udp443": [
    ok("ovn-trace from pod to IP", "client", IP),
    ok("ovs-appctl ofproto/trace pod to IP", "client", IP),
  ],
};

describe("the Go tool's lines, exactly", () => {
  it("covers every recorded case", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(recordedCaseNames());
  });

  describe.each(recordedCaseNames())("%s", (name) => {
    const c = recordedCase(name);
    const want = EXPECTED[name] ?? [];
    it.each([0, 2, 5])("goOnly prints only them, in order, at -loglevel %i", (loglevel) => {
      expect(goLines(c.reports, loglevel)).toEqual(want);
    });
    it("our output starts with them (the first report's; the additions follow)", () => {
      const first = c.reports.slice(0, 1);
      const lines = renderGoText(first, { loglevel: 0, color: false }).split("\n");
      const own = goLines(first);
      expect(lines.slice(0, own.length)).toEqual(own);
      const rest = lines.slice(own.length).filter((l) => !l.startsWith("  "));
      expect(rest.every((l) => !l.includes(" indicates "))).toBe(true);
      expect(rest.some((l) => l.startsWith("verdict ("))).toBe(true);
    });
  });
});

// variations of the recorded reports, for the conditions no recorded run meets
const base = (name: string): TraceReport => {
  const r = recordedCase(name).reports[0];
  if (r === undefined) throw new Error(`no report in ${name}`);
  return r;
};
const withChecks = (d: DirectionReport, f: (c: readonly Check[]) => Check[]): DirectionReport => ({
  ...d,
  checks: f(d.checks),
});
const detraced = (d: DirectionReport, success = true): DirectionReport =>
  withChecks(d, (c) => [
    ...c,
    { tool: "ovn-detrace", success, detail: success ? "2 hop(s) annotated" : "on x: no db" },
  ]);
const withoutTransit = (d: DirectionReport): DirectionReport => ({
  ...d,
  hops: d.hops.filter((h: Hop) => h.startsIn !== "transit_switch"),
});

describe("the Go tool's conditions", () => {
  it("ovn-detrace of both directions after the OpenFlow traces, unless skipped", () => {
    const r = base("interconnect-pod-to-pod-tcp8080");
    const reply = r.reply;
    if (reply === undefined) throw new Error("no reply");
    expect(goLines([{ ...r, forward: detraced(r.forward), reply: detraced(reply) }])).toEqual(
      podToPod("client", "web", true, true),
    );
  });

  it("ovn-detrace to an IP is 'pod to external IP'", () => {
    const r = base("central-external-udp443");
    expect(goLines([{ ...r, forward: detraced(r.forward) }])).toEqual([
      ok("ovn-trace from pod to IP", "client", IP),
      ok("ovs-appctl ofproto/trace pod to IP", "client", IP),
      ok("ovn-detrace pod to external IP", "client", IP),
    ]);
  });

  it("an ovn-detrace that cannot run prints no line and stops; we name it after the Go lines", () => {
    const r = base("central-pod-to-pod-tcp8080");
    const reply = r.reply;
    if (reply === undefined) throw new Error("no reply");
    const broken = { ...r, forward: detraced(r.forward, false), reply: detraced(reply) };
    expect(goLines([broken])).toEqual(podToPod("client", "web", false, false));
    const ours = renderGoText([broken], { loglevel: 0, color: false }).split("\n");
    expect(ours.slice(4, 8)).toEqual([
      "not printed by the Go tool (it stops at the first failure):",
      "  ovn-detrace source pod to destination pod: failure from client to web",
      "    on x: no db",
      "  ovn-detrace destination pod to source pod: success from web to client",
    ]);
    expect(firstFailure([broken])).toMatchObject({ direction: "forward", check: { tool: "ovn-detrace" } });
  });

  it("no '(remote)' line when both pods are in one zone (same node on interconnect)", () => {
    const r = base("interconnect-pod-to-pod-tcp8080");
    const reply = r.reply;
    if (reply === undefined) throw new Error("no reply");
    expect(goLines([{ ...r, forward: withoutTransit(r.forward), reply: withoutTransit(reply) }])).toEqual(
      podToPod("client", "web", false, false),
    );
  });

  it("no '(remote)' line towards a host-network pod", () => {
    const r = base("interconnect-pod-to-pod-tcp8080");
    if (r.dst.kind !== "pod") throw new Error("not a pod");
    const lines = goLines([{ ...r, dst: { ...r.dst, hostNetwork: true } }]);
    expect(lines.filter((l) => l.startsWith("ovn-trace (remote)"))).toEqual([
      ok("ovn-trace (remote) destination pod to source pod", "web", "client"),
    ]);
  });

  it("the source zone must send to the destination node's transit port", () => {
    const r = base("interconnect-pod-to-pod-tcp8080");
    const wrong: TraceReport = {
      ...r,
      forward: {
        ...r.forward,
        hops: r.forward.hops.map((h, i) =>
          i === 0
            ? { ...h, outcome: { kind: "output", port: "tstor-ovn-control-plane", portType: "remote" } }
            : h,
        ),
      },
    };
    expect(goLines([wrong])).toEqual([bad("ovn-trace source pod to destination pod", "client", "web")]);
    expect(firstFailure([wrong])).toEqual({
      report: wrong,
      direction: "forward",
      check: {
        tool: "ovn-trace",
        success: false,
        detail:
          'expected output to "tstor-ovn-worker2"; got output to "tstor-ovn-control-plane" (remote) on ovn-worker',
      },
    });
  });

  it("the first failure is the Go tool's: its order, not the report's", () => {
    const r = base("central-pod-to-pod-tcp8080");
    const reply = r.reply;
    if (reply === undefined) throw new Error("no reply");
    const fail = (tool: Check["tool"]) => (c: readonly Check[]) =>
      c.map((x) => (x.tool === tool ? { ...x, success: false } : x));
    // the forward OpenFlow trace and the reply's ovn-trace fail: the Go tool stops at the reply's ovn-trace
    const two = {
      ...r,
      forward: withChecks(r.forward, fail("ofproto/trace")),
      reply: withChecks(reply, fail("ovn-trace")),
    };
    expect(goLines([two])).toEqual([
      ok("ovn-trace source pod to destination pod", "client", "web"),
      bad("ovn-trace destination pod to source pod", "web", "client"),
    ]);
    expect(firstFailure([two])).toMatchObject({ direction: "reply", check: { tool: "ovn-trace" } });
  });
});
