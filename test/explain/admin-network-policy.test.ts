import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainOnBackend, explainRequest, type ExplainJson } from "../../src/app/explain.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { explainDrop } from "../../src/explain/drop.js";
import { aclMeaning } from "../../src/explain/owners.js";
import { missingTieredAcls, NB_SCHEMA_FILE } from "../../src/lab/admin-network-policy.js";
import { parseScenario } from "../../src/lab/load-scenario.js";
import type { OvnDatabases, OvsdbRow } from "../../src/model/ovsdb.js";
import { readOvsdbFile } from "../../src/ovsdb/file.js";
import { externalIds, rowByUuid } from "../../src/ovsdb/index.js";
import { adminPolicyRuleOf } from "../../src/parsers/admin-policy-acl.js";
import { stopReplica } from "../../src/snapshot/replica.js";
import { collectFromFiles } from "../../src/snapshot/files.js";
import { kubernetesFromOvn } from "../../src/snapshot/kubernetes-from-ovn.js";
import { readKubernetesDir } from "../../src/snapshot/kubernetes-files.js";
import { fixtureText } from "../helpers/fixtures.js";
import {
  ACLS,
  ANP,
  BANP,
  FLOWS,
  NAMES,
  NODE,
  POD_LSP,
  tieredNbSchema,
  writeTieredAclCluster,
} from "../helpers/tiered-acl-cluster.js";

/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy, explained from the databases of a newer cluster (OVN
 * 23.06+: ACL tiers and pass, which the lab's OVN 23.03 lacks): real database files written by ovsdb-tool with
 * the NB schema of OVN 23.06, and ovn-kubernetes' published ovn-trace of an ANP drop.
 */
const SAMPLE = fixtureText("ovn-trace/ovn-trace_ovnk_anp-acl-drop_ct-new_detailed_TRUNCATED.txt");
const prefix = (u: string): string => u.slice(0, 8);

let work: string;
let dbs: OvnDatabases;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "anp-"));
  const files = writeTieredAclCluster(work);
  dbs = { nb: readOvsdbFile(readFileSync(files.nb)), sb: readOvsdbFile(readFileSync(files.sb)) };
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const acl = (uuid: string): OvsdbRow => {
  const row = rowByUuid(dbs.nb, "ACL", uuid);
  if (row === undefined) throw new Error(`no ACL ${uuid}`);
  return row;
};

describe("the test cluster is named as ovnkube-controller names it", () => {
  it("its port group and address set are the ones of the published trace", () => {
    // the published trace's ACL match, from a real cluster
    expect(SAMPLE).toContain(`inport == @${NAMES.anpPortGroup} && ((ip4.dst == $${NAMES.anpEgress5}))`);
    expect(SAMPLE).toContain(`acl-logging__${ACLS.anpEgressDeny}`);
  });
});

describe("an ACL read as the AdminNetworkPolicy rule it implements", () => {
  it("reads kind, name, rule index, action, direction and the ANP's priority", () => {
    expect(adminPolicyRuleOf(acl(ACLS.anpEgressDeny))).toEqual({
      kind: "AdminNetworkPolicy",
      name: ANP,
      direction: "egress",
      ruleIndex: 5,
      action: "Deny",
      policyPriority: 34,
    });
    expect(adminPolicyRuleOf(acl(ACLS.anpIngressPass))?.action).toBe("Pass");
    expect(adminPolicyRuleOf(acl(ACLS.banpIngressDeny))).toEqual({
      kind: "BaselineAdminNetworkPolicy",
      name: BANP,
      direction: "ingress",
      ruleIndex: 0,
      action: "Deny",
      policyPriority: undefined,
    });
  });

  it("derives the rule index from the ACL priority when gress-index is not recorded", () => {
    const row = acl(ACLS.anpIngressPass);
    const { "gress-index": index, ...ids } = externalIds(row);
    expect(index).toBe("3");
    const without: OvsdbRow = { ...row, columns: { ...row.columns, external_ids: ids } };
    expect(adminPolicyRuleOf(without)?.ruleIndex).toBe(3);
    // a priority outside the ANP range (30000 down to 20001) says nothing of the rule
    const outside = adminPolicyRuleOf({ ...without, columns: { ...without.columns, priority: 1001 } });
    expect([outside?.ruleIndex, outside?.policyPriority]).toEqual([undefined, undefined]);
  });

  it("is nothing for an ACL ovn-kubernetes did not write for one", () => {
    const row = acl(ACLS.anpEgressDeny);
    expect(adminPolicyRuleOf({ ...row, columns: { ...row.columns, external_ids: {} } })).toBe(undefined);
  });

  it("names the rule on the trace's lines", () => {
    expect(aclMeaning(acl(ACLS.anpIngressAllow))?.text).toBe(
      "AdminNetworkPolicy cluster-control, rule 0 (Allow), ingress, priority 34",
    );
  });
});

describe("drops decided by tiered ACLs (OVN 23.06+: *_acl_eval, then *_acl_action)", () => {
  it("names the BANP rule that denied, after the ANP rule that passed the packet on", () => {
    const e = explainDrop(
      dbs,
      {
        lflowUuid: prefix(FLOWS.outDrop),
        earlier: [prefix(FLOWS.anpPassEval), prefix(FLOWS.banpDenyEval)],
      },
      { dst: POD_LSP },
    );
    expect(e?.text).toBe(
      "denied by BaselineAdminNetworkPolicy default, rule 0 (Deny), ingress (after the pass of AdminNetworkPolicy cluster-control, rule 3 (Pass), ingress, priority 34)",
    );
    expect(e?.objects).toEqual([{ kind: "BaselineAdminNetworkPolicy", name: BANP }]);
    expect(e?.acl?.uuid).toBe(ACLS.banpIngressDeny);
  });

  it("does not guess when no drop ACL was evaluated before the drop", () => {
    for (const earlier of [[], [prefix(FLOWS.anpPassEval)], [prefix(FLOWS.anpAllowEval)]]) {
      const e = explainDrop(dbs, { lflowUuid: prefix(FLOWS.outDrop), earlier }, {});
      expect(e?.text).toMatch(/^dropped by logical flow ls_out_acl_action \(reg8\[17\] == 1\)$/);
      expect(e?.objects).toEqual([]);
    }
  });

  it("only looks at the eval stage of the action stage that dropped", () => {
    // the egress ANP deny was evaluated in ls_in_acl_after_lb_eval: it did not decide a drop in ls_out_acl_action
    const e = explainDrop(
      dbs,
      { lflowUuid: prefix(FLOWS.outDrop), earlier: [prefix(FLOWS.anpDenyEval)] },
      {},
    );
    expect(e?.objects).toEqual([]);
  });

  it("says allowed by for the allow rule a matrix cell names", () => {
    const e = explainDrop(dbs, { lflowUuid: prefix(FLOWS.anpAllowEval) }, { dst: POD_LSP });
    expect(e?.text).toBe(
      "allowed by AdminNetworkPolicy cluster-control, rule 0 (Allow), ingress, priority 34",
    );
    expect(e?.acl?.action).toBe("allow-related");
  });
});

describe("a snapshot of the cluster's database files, without kubernetes.json", () => {
  let dir: string;
  let backend: SnapshotBackend | undefined;
  beforeAll(async () => {
    dir = join(work, "snapshot");
    await collectFromFiles([join(work, "ovnnb_db.db"), join(work, "ovnsb_db.db")], dir, { node: NODE });
    backend = await SnapshotBackend.open(dir);
  }, 120_000);
  afterAll(async () => {
    await backend?.close();
    await stopReplica(dir);
  }, 60_000);

  it("explains the published ANP drop: the policy, its rule, what it did", async () => {
    if (backend === undefined) throw new Error("no backend");
    const e = await explainOnBackend(explainRequest(SAMPLE, NODE, "decoded", "json"), backend);
    const json = JSON.parse(e.output) as ExplainJson;
    expect(json.summary.verdict.kind).toBe("dropped");
    expect(json.summary.verdict.text).toBe(
      "dropped in ovn-worker2 ls_in_acl_after_lb_action: denied by AdminNetworkPolicy cluster-control, rule 5 (Deny), egress, priority 34",
    );
    expect(json.summary.verdict.objects).toEqual([{ kind: "AdminNetworkPolicy", name: ANP }]);
    expect(json.summary.inPort?.meaning).toBe("pod restricted/restricted-65948898b-b2hhj");
    const verdictLine = json.lines.find((l) => l.text.trim() === "reg8[17] = 1;");
    expect(verdictLine?.values.map((v) => v.meaning)).toEqual([
      "REGBIT_ACL_VERDICT_DROP (ACL verdict: drop)",
    ]);
  }, 120_000);

  it("derives the AdminNetworkPolicy and the BaselineAdminNetworkPolicy from the ACLs", () => {
    const objects = kubernetesFromOvn([{ nb: dbs.nb, sb: dbs.sb }]);
    const admin = objects.filter((o) => o.kind?.includes("AdminNetworkPolicy"));
    expect(admin).toEqual([
      {
        apiVersion: "policy.networking.k8s.io/v1alpha1",
        kind: "AdminNetworkPolicy",
        metadata: { name: ANP, annotations: { "ovnkube-trace/derived-from": "ovn-databases" } },
        spec: { priority: 34 },
      },
      {
        apiVersion: "policy.networking.k8s.io/v1alpha1",
        kind: "BaselineAdminNetworkPolicy",
        metadata: { name: BANP, annotations: { "ovnkube-trace/derived-from": "ovn-databases" } },
      },
    ]);
  });
});

describe("AdminNetworkPolicies given to a snapshot as kubectl or must-gather dumps (--k8s)", () => {
  it("keeps them beside the kinds the tracer traces with", () => {
    const dir = join(work, "k8s");
    const group = join(dir, "cluster-scoped-resources", "policy.networking.k8s.io");
    mkdirSync(group, { recursive: true });
    mkdirSync(join(dir, "cluster-scoped-resources", "core", "nodes"), { recursive: true });
    writeFileSync(
      join(dir, "cluster-scoped-resources", "core", "nodes", `${NODE}.yaml`),
      `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${NODE}\n`,
    );
    // as `oc adm inspect` files cluster-scoped lists: <group>/<resource>.yaml, kind <Kind>List
    writeFileSync(
      join(group, "adminnetworkpolicies.yaml"),
      `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicyList\nitems:\n- metadata:\n    name: ${ANP}\n  spec:\n    priority: 34\n`,
    );
    writeFileSync(
      join(group, "baselineadminnetworkpolicies.yaml"),
      `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicyList\nitems:\n- metadata:\n    name: ${BANP}\n`,
    );
    const kinds = readKubernetesDir(dir).items.map((o) => `${o.kind ?? ""}/${o.metadata?.name ?? ""}`);
    expect(kinds.sort()).toEqual([
      `AdminNetworkPolicy/${ANP}`,
      `BaselineAdminNetworkPolicy/${BANP}`,
      `Node/${NODE}`,
    ]);
  });
});

describe("the lab refuses AdminNetworkPolicies, saying why", () => {
  it("is a one-line error naming what the installed OVN lacks", () => {
    const text = "name: x\nnodes: [{ name: n1 }]\nadminNetworkPolicies: [{ name: a, priority: 1 }]\n";
    expect(() => parseScenario(text, "x.yaml")).toThrow(
      /^x\.yaml: adminNetworkPolicies: the lab cannot build AdminNetworkPolicies: the lab's OVN NB schema 7\.0\.0 has no ACL tier column and no "pass" ACL action/,
    );
    try {
      parseScenario(text, "x.yaml");
    } catch (e) {
      expect((e as Error).message).not.toContain("\n");
    }
  });

  it("reads it from the NB schema: OVN 23.06's has what they need", () => {
    expect(missingTieredAcls(readFileSync(NB_SCHEMA_FILE, "utf8"))).toMatch(/no ACL tier column/);
    expect(missingTieredAcls(tieredNbSchema())).toBe("");
  });
});
