import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { ovnDatabases } from "../../src/cluster/node-databases.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { explainDrop } from "../../src/explain/drop.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { externalIds, tableRows } from "../../src/ovsdb/index.js";
import { newLabDir } from "../helpers/lab.js";
import type { OvnDatabases } from "../../src/model/ovsdb.js";

/** The scenario's NetworkPolicy default/allow-8080 (allow TCP 8080 to app=web) is what a drop of TCP 80 must name. */
describe.each(["central", "interconnect"] as const)("drops explained in Kubernetes terms (%s)", (shape) => {
  let state: LabState;
  let backend: LabBackend;
  let dbs: OvnDatabases;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, shape), newLabDir())).state;
    backend = LabBackend.open(state.dir);
    dbs = await ovnDatabases(backend, new Map(), "ovn-worker2");
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  it("names the NetworkPolicy, what it allows, and the pod it protects", async () => {
    const r = await resolveTarget(backend, {
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
    });
    const [report] = await runTraces(backend, r, { skipDetrace: true });
    const v = report?.forward.verdict;
    expect(v?.kind).toBe("dropped");
    if (v?.kind !== "dropped") return;
    expect(v.explanation).toMatch(
      /ingress default deny of NetworkPolicy default\/allow-8080, which only allows TCP 8080/,
    );
    expect(v.explanation).toMatch(/pod default\/web/);
    expect(v.objects).toContainEqual({ kind: "NetworkPolicy", namespace: "default", name: "allow-8080" });
  });

  it("degrades to the raw value when the cookie matches no logical flow", () => {
    const e = explainDrop(dbs, { cookie: "0xdeadbeef" }, {});
    expect(e?.text).toMatch(/no logical flow with uuid deadbeef/);
    expect(e?.objects).toEqual([]);
  });

  it("says so when an ACL has no ovn-kubernetes owner (plain OVN)", () => {
    const acl = tableRows(dbs.nb, "ACL").find(
      (a) => externalIds(a)["k8s.ovn.org/owner-type"] === "NetpolNamespace",
    );
    const lflow = tableRows(dbs.sb, "Logical_Flow").find(
      (f) => acl !== undefined && externalIds(f)["stage-hint"] === acl.uuid.slice(0, 8),
    );
    expect(acl).toBeDefined();
    expect(lflow).toBeDefined();
    if (acl === undefined || lflow === undefined) return;
    // the same ACL with its ovn-kubernetes external_ids removed, as plain OVN would have it
    const plain: OvnDatabases = {
      sb: dbs.sb,
      nb: {
        ...dbs.nb,
        tables: {
          ...dbs.nb.tables,
          ACL: { [acl.uuid]: { ...acl, columns: { ...acl.columns, external_ids: {} } } },
        },
      },
    };
    const e = explainDrop(plain, { cookie: `0x${lflow.uuid.slice(0, 8)}` }, {});
    expect(e?.text).toMatch(/no ovn-kubernetes owner/);
    expect(e?.acl?.uuid).toBe(acl.uuid);
  });
});
