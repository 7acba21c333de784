import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import { CASES, client, type Case } from "../helpers/cases.js";
import { ACME_CASES, ACME_EACH_BACKEND, type EachBackendCase } from "../helpers/cases-acme.js";
import { agree, probeOf, realReply } from "../helpers/fidelity.js";
import { newLabDir } from "../helpers/lab.js";
import type { TraceReport } from "../../src/model/report.js";

/**
 * Ground truth: for every case, the traced verdict (OpenFlow on every node the packet crosses)
 * must equal what a real packet injected at the same pod port does in the same lab (helpers/fidelity.ts).
 */

const tally = { agree: 0, total: 0 };

/** A scenario of examples/ and its matrix: nothing in the tool may depend on one scenario's names or addresses. */
interface Matrix {
  readonly scenario: string;
  readonly cases: readonly Case[];
  readonly eachBackend: readonly EachBackendCase[];
}

const MATRICES: readonly Matrix[] = [
  {
    scenario: "kind-dualstack.yaml",
    cases: CASES,
    eachBackend: ([4, 6] as const).map((family) => ({
      title: `service kube-dns reaches each of its backends, local and remote (IPv${String(family)})`,
      case: {
        name: `kube-dns each backend IPv${String(family)}`,
        target: {
          src: client,
          dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
          protocol: "udp",
          dstPort: 53,
          family,
        },
      },
      backends: 2,
      firstPort: 42000 + family * 100,
    })),
  },
  { scenario: "acme-prod.yaml", cases: ACME_CASES, eachBackend: ACME_EACH_BACKEND },
];

/** Every matrix on both shapes of its scenario. */
const RUNS = MATRICES.flatMap((m) =>
  (["central", "interconnect"] as const).map((shape) => ({ ...m, shape })),
);

describe.each(RUNS)(
  "trace verdicts agree with real packets ($scenario, $shape)",
  ({ scenario, shape, cases, eachBackend }) => {
    let state: LabState;
    let backend: LabBackend;
    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}${scenario}`, shape), newLabDir())).state;
      backend = LabBackend.open(state.dir);
    });
    afterAll(async () => {
      await labDown(state.dir);
    });

    /** Traces with the real packet's source port; for a service, the report of the backend the packet reached. */
    async function compare(c: Case, real: ProbeResult): Promise<void> {
      const r = await resolveTarget(backend, c.target);
      const reports = await runTraces(backend, r, {
        skipDetrace: true,
        allBackends: true,
        srcPort: real.injected.srcPort,
      });
      const g = real.verdict;
      const report =
        reports.find(
          (x) =>
            g.kind === "delivered" &&
            x.forward.verdict.kind === "delivered" &&
            x.forward.verdict.to.kind === "pod" &&
            x.forward.verdict.to.name === g.pod,
        ) ?? reports[0];
      if (report === undefined) throw new Error("no report");
      // nothing depends on live datapath state: no trace resumes at a recirculation id, either way
      for (const h of [...report.forward.hops, ...(report.reply?.hops ?? [])])
        expect(h.command.join(" ")).not.toMatch(/recirc_id=/);
      tally.total++;
      expect(agree(report.forward.verdict, real), `forward: ${c.name}`).toBeUndefined();
      tally.agree++;
      await compareReply(c, real, report);
    }

    /** The reply as a real peer sends it once the forward packet went, against the traced reply. */
    async function compareReply(c: Case, real: ProbeResult, report: TraceReport): Promise<void> {
      const reply = await realReply(state, c.target, real);
      if (reply === undefined || report.reply === undefined) return;
      tally.total++;
      expect(agree(report.reply.verdict, reply), `reply: ${c.name}`).toBeUndefined();
      tally.agree++;
    }

    // First, on the fresh lab: no hairpin packet has gone yet, so the flow OVN learns from a hairpin's first packet
    // (chk_lb_hairpin_reply, table 69) is not there for ofproto/trace to see; the reply is continued from the
    // forward trace's learn action. Then the real packets (the later cases trace with that flow in place).
    const hairpins = cases.filter((c) => c.name.startsWith("hairpin:") && c.target.dst.kind === "service");
    it.each(hairpins.map((c) => [c.name, c] as const))(
      "%s: traced before any real packet, then compared with the real ones",
      async (_name, c) => {
        const srcPort = 47000 + hairpins.indexOf(c);
        const r = await resolveTarget(backend, c.target);
        const [report] = await runTraces(backend, r, { skipDetrace: true, srcPort });
        if (report?.reply === undefined) throw new Error("no reply traced");
        const without = report.reply.hops.find(
          (h) =>
            h.outcome.kind === "output" && h.outcome.portType?.includes("this trace is without that flow"),
        );
        expect(without, `${c.name}: the reply's trace met no learned flow`).toBeDefined();
        const real = await probe(state, { ...probeOf(c.target), srcPort });
        tally.total++;
        expect(agree(report.forward.verdict, real), `forward: ${c.name}`).toBeUndefined();
        tally.agree++;
        await compareReply(c, real, report);
      },
    );

    it.each(cases.map((c) => [c.name, c] as const))("%s, and its reply", async (_name, c) => {
      const real = await probe(state, probeOf(c.target));
      expect(["delivered", "delivered-to-host", "not-delivered", "left-cluster", "rejected"]).toContain(
        real.verdict.kind,
      );
      await compare(c, real);
    });

    it.each(eachBackend.map((e) => [e.title, e] as const))("%s", async (_title, e) => {
      const c = e.case;
      const seen = new Set<string>();
      for (let port = e.firstPort; seen.size < e.backends && port < e.firstPort + 40; port++) {
        const real = await probe(state, { ...probeOf(c.target), srcPort: port });
        if (real.verdict.kind !== "delivered" || seen.has(real.verdict.pod)) continue;
        seen.add(real.verdict.pod);
        await compare(c, real);
      }
      expect(seen.size).toBe(e.backends);
    });
  },
);

afterAll(() => {
  process.stdout.write(
    `fidelity: ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets (all four addresses on arrival)\n`,
  );
});
