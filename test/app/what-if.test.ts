import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { whatIf, type WhatIfResult } from "../../src/app/what-if.js";
import type { CommandIO } from "../../src/app/command.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { cellName, computeMatrix } from "../../src/engine/matrix.js";
import { parsePorts } from "../../src/engine/matrix-select.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, readLabState, setLabNetworkPolicies, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { LabCluster } from "../../src/lab/cluster.js";
import type { ReachabilityMatrix } from "../../src/model/matrix.js";
import { newLabDir } from "../helpers/lab.js";
import { podRef as ref, realVerdict as real } from "../helpers/fidelity.js";

/**
 * `what-if --allow` on a lab of examples/matrix.yaml: for dropped cells of each kind (the receiver's ingress in
 * another namespace and in its own, the sender's egress then the receiver's ingress), the proposed policy applied
 * lets a real packet through (lab probe; none before), the cells it reports flipped are exactly the difference of
 * matrices computed here, and once the policies are restored the matrix is the original one and the packet is
 * dropped again.
 */

const SCENARIO = `${EXAMPLES_DIR}matrix.yaml`;
const ALL = ["shop", "api", "data"];
const PORTS = parsePorts(["tcp/8080,tcp/5432,udp/53"]);
const io: CommandIO = { progress: () => undefined, note: () => undefined, color: false };

const CASES = [
  { src: "shop/debug", dst: "api/users-9d7c-a1", port: "tcp/8080", proposals: 1 },
  { src: "shop/debug", dst: "shop/cart-5f6d-b2", port: "tcp/8080", proposals: 1 },
  { src: "data/analytics-0", dst: "data/postgres-0", port: "tcp/5432", proposals: 1 },
  { src: "data/etl-5c1b", dst: "shop/cart-5f6d-a1", port: "tcp/8080", proposals: 2 },
] as const;

async function matrix(
  s: LabState,
  namespaces: readonly string[],
  ports = PORTS,
): Promise<ReachabilityMatrix> {
  const b = new LabBackend(s, "always");
  try {
    return await computeMatrix(b, {
      from: { namespaces, selector: "" },
      to: { namespaces, selector: "", services: false },
      ports,
      family: 4,
    });
  } finally {
    await b.close();
  }
}

/**
 * Each cell's verdict, whose side decided and the deciding objects (sorted: the explanation names a default deny's
 * policies in the order of their NB rows, which are new rows once a policy was applied and removed).
 */
const verdicts = (m: ReachabilityMatrix): Map<string, string> =>
  new Map(
    m.cells.map((c) => [
      cellName(m, c),
      `${c.verdict}: ${c.direction ?? "-"} ${c.objects
        .map((o) => `${o.kind} ${o.namespace ?? ""}/${o.name}`)
        .sort()
        .join(", ")}`,
    ]),
  );

describe("what-if --allow on the lab (matrix.yaml, interconnect)", () => {
  let state: LabState;
  let cluster: LabCluster;
  let original: ReachabilityMatrix;
  let kubernetesJson: string;
  beforeAll(async () => {
    cluster = loadScenarioFile(SCENARIO, "interconnect");
    state = (await labUp(cluster, newLabDir())).state;
    kubernetesJson = readFileSync(labLayout(state.dir).kubernetesFile, "utf8");
    original = await matrix(state, ALL);
  }, 300_000);
  afterAll(async () => {
    await labDown(state.dir);
  });

  it.each(CASES.map((c, i) => ({ ...c, i })))(
    "$src → $dst $port: proposed, a real packet passes, flips as measured, restored",
    async ({ src, dst, port, proposals, i }) => {
      const ports = parsePorts([port]);
      const name = `${src} → ${dst} ${port}`;
      expect(verdicts(original).get(name)).toMatch(/^dropped/);
      expect(await real(state, src, dst, port, 40_000 + i)).toBe("not-delivered");
      const namespaces = [...new Set([ref(src).namespace, ref(dst).namespace])];
      const before = verdicts(await matrix(state, namespaces, ports));

      const r: WhatIfResult = await whatIf(
        { lab: state.dir, allow: { src, dst }, namespaces: [], ports: [port], keep: true, output: "json" },
        io,
      );
      expect(r.cell).toEqual({ name, before: "dropped", after: "allowed" });
      expect(r.proposals).toHaveLength(proposals);
      expect(r.kept).toBe(true);
      expect(r.namespaces).toEqual(namespaces);
      const applied = readLabState(state.dir);
      if (applied === undefined) throw new Error("no lab state");
      // explained by name: the changed policy is in kubernetes.json
      for (const p of r.proposals) expect(p.changes).toBeDefined();

      // ground truth: a real packet now passes
      expect(await real(applied, src, dst, port, 41_000 + i)).toBe("delivered");

      // the flipped cells are the difference of two matrices computed here, before and after
      const after = await matrix(applied, r.namespaces, ports);
      const measured = after.cells
        .filter((c) => before.get(cellName(after, c))?.split(":")[0] !== c.verdict)
        .map(
          (c) =>
            `${cellName(after, c)}: ${String(before.get(cellName(after, c))?.split(":")[0])} → ${c.verdict}`,
        )
        .sort();
      expect(r.flipped.map((f) => `${f.cell}: ${f.before} → ${f.after}`).sort()).toEqual(measured);
      expect(measured).toContain(`${name}: dropped → allowed`);
      // the explainer names the changed policy (kubernetes.json has it) and every drop's policies (no stale ACL)
      const cell = after.cells.find((c) => cellName(after, c) === name);
      expect(cell?.objects.map((o) => `${o.namespace ?? ""}/${o.name}`)).toContain(
        r.proposals.at(-1)?.changes,
      );
      expect(after.cells.filter((c) => c.explanation.includes("not found"))).toEqual([]);

      // restored: the original policies, matrix and objects, and the packet is dropped again
      const restored = await setLabNetworkPolicies(applied, cluster.networkPolicies);
      expect(readLabState(state.dir)?.cluster).toEqual(cluster);
      expect(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")).toBe(kubernetesJson);
      expect(verdicts(await matrix(restored, ALL))).toEqual(verdicts(original));
      expect(await real(restored, src, dst, port, 42_000 + i)).toBe("not-delivered");
    },
    120_000,
  );

  it("without --keep the lab is restored; --policy takes a manifest", async () => {
    const r = await whatIf(
      {
        lab: state.dir,
        allow: { src: "api/metrics-0", dst: "api/users-9d7c-b2" },
        namespaces: [],
        ports: ["udp/53"],
        keep: false,
        output: "json",
      },
      io,
    );
    expect(r.cell?.after).toBe("allowed");
    expect(r.kept).toBe(false);
    expect(readLabState(state.dir)?.cluster).toEqual(cluster);
    expect(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")).toBe(kubernetesJson);

    const file = join(state.dir, "policy.yaml");
    writeFileSync(file, r.proposals[0]?.manifest ?? "");
    const p = await whatIf(
      { lab: state.dir, policyFile: file, namespaces: [], ports: ["udp/53"], keep: false, output: "json" },
      io,
    );
    expect(p.namespaces).toEqual(ALL);
    expect(p.flipped.map((f) => f.cell)).toContain("api/metrics-0 → api/users-9d7c-b2 udp/53");
    expect(p.flipped.map((f) => f.cell).sort()).toEqual(r.flipped.map((f) => f.cell).sort());
    expect(verdicts(await matrix(state, ALL))).toEqual(verdicts(original));
  }, 120_000);
});
