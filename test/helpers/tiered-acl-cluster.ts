import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dbExternalIds, hashForOvn, type DbIds } from "../../src/lab/ovnk-names.js";
import { NB_SCHEMA_FILE } from "../../src/lab/admin-network-policy.js";

/**
 * The OVN databases of a newer cluster (OVN 23.06+, which ovn-kubernetes' AdminNetworkPolicies need) built
 * with the installed ovsdb-tool: the NB schema is the installed one plus what OVN 23.06 added for them (NB
 * schema 7.0.4: ACL `tier` 0-3, action `pass`; ovn-org/ovn 119f14e05 and 567551e40); the SB schema needs
 * nothing new (the eval/action stages are only names in Logical_Flow external_ids).
 *
 * The cluster is the one of ovn-kubernetes' published AdminNetworkPolicy trace
 * (samples/public/ovn-trace_ovnk_anp-acl-drop_ct-new_detailed_TRUNCATED.txt): ANP cluster-control (priority
 * 34) selects pod restricted/restricted-65948898b-b2hhj on ovn-worker2; its egress rule 5 denies 0.0.0.0/0 with
 * ACL 924b81fd (the uuid in the trace's meter); the trace's two logical flows 369e6009 (eval) and 0cd7e938
 * (action) are written with those uuid prefixes. Beside it: ingress rules 0 (Allow) and 3 (Pass), and the BANP `default`
 * ingress rule 0 (Deny), evaluated in ls_out_acl_eval, as northd 23.06 writes them (consider_acl,
 * build_acl_action_lflows). Names, priorities and external_ids as ovnkube-controller writes them
 * (admin_network_policy/types.go, utils.go; libovsdb/util/acl.go).
 */

export const NODE = "ovn-worker2";
export const POD_LSP = "restricted_restricted-65948898b-b2hhj";
export const ANP = "cluster-control";
export const ANP_PRIORITY = 34;
export const BANP = "default";

/** Logical flows, by what they are. */
export const FLOWS = {
  /** ANP egress rule 5 (Deny) in ls_in_acl_after_lb_eval: the published trace's uuid 369e6009. */
  anpDenyEval: "369e6009-2f5c-4f0e-9a61-7b1f0c3a5d01",
  /** ls_in_acl_after_lb_action `reg8[17] == 1` (drop): the published trace's uuid 0cd7e938. */
  afterLbDrop: "0cd7e938-41aa-4c55-8a0e-3d9b6e2f7a02",
  /** ANP ingress rule 0 (Allow) in ls_out_acl_eval. */
  anpAllowEval: "2e4f6a81-c3b5-4d7e-8f90-a1b2c3d4e509",
  /** ANP ingress rule 3 (Pass) in ls_out_acl_eval. */
  anpPassEval: "5a1c0de1-6b7e-4c2a-9d3f-0e4b8a6c1d03",
  /** BANP ingress rule 0 (Deny) in ls_out_acl_eval. */
  banpDenyEval: "7b2d1ef2-8c9f-4d3b-ae40-1f5c9b7d2e04",
  /** ls_out_acl_action `reg8[17] == 1` (drop). */
  outDrop: "9c3e2f03-ad01-4e4c-bf51-2a6dac8e3f05",
} as const;

export const ACLS = {
  anpEgressDeny: "924b81fd-65cc-494b-9c29-0c5287d69bb1",
  anpIngressPass: "3e0a5c11-7d2b-4f60-8a9e-5c4d3b2a1f06",
  anpIngressAllow: "f4523ce3-fb80-4d68-a50b-8aa6a795f895",
  banpIngressDeny: "b4f1e7a2-0c3d-4e5f-9a8b-7c6d5e4f3a07",
} as const;

const ANP_START = 30000;
const BANP_START = 1750;
/** northd's OVN_ACL_PRI_OFFSET: a logical flow's priority is its ACL's plus this. */
const ACL_PRI_OFFSET = 1000;

/** The installed NB schema with ACL tier and pass added, as OVN 23.06 has them. */
export function tieredNbSchema(): string {
  const s = JSON.parse(readFileSync(NB_SCHEMA_FILE, "utf8")) as {
    version: string;
    cksum?: string;
    tables: { ACL: { columns: Record<string, { type: { key: { enum: [string, string[]] } } }> } };
  };
  const columns = s.tables.ACL.columns;
  const action = columns.action;
  if (action === undefined) throw new Error("the installed NB schema has no ACL action column");
  action.type.key.enum[1] = [...action.type.key.enum[1], "pass"];
  (columns as Record<string, unknown>).tier = {
    type: { key: { type: "integer", minInteger: 0, maxInteger: 3 } },
  };
  delete s.cksum;
  s.version = "7.0.4";
  return JSON.stringify(s);
}

const uuid = (u: string): ["uuid", string] => ["uuid", u];
const set = (...us: string[]): ["set", ["uuid", string][]] => ["set", us.map(uuid)];
const map = (m: Record<string, string>): ["map", [string, string][]] => ["map", Object.entries(m)];

const aclIds = (kind: string, name: string, dir: string, index: number): DbIds => ({
  ownerType: kind,
  keys: [
    ["k8s.ovn.org/name", name],
    ["direction", dir],
    ["gress-index", String(index)],
    ["port-policy-protocol", "None"],
  ],
});
const addressSetIds = (kind: string, name: string, dir: string, index: number): DbIds => ({
  ownerType: kind,
  keys: [
    ["k8s.ovn.org/name", name],
    ["direction", dir],
    ["gress-index", String(index)],
    ["ip-family", "v4"],
  ],
});
const portGroupIds = (kind: string, name: string): DbIds => ({
  ownerType: kind,
  keys: [["k8s.ovn.org/name", name]],
});

/** The hashed names ovnkube-controller gives the port groups and address sets. */
export const NAMES = {
  anpPortGroup: hashForOvn(dbExternalIds(portGroupIds("AdminNetworkPolicy", ANP))["k8s.ovn.org/id"] ?? ""),
  banpPortGroup: hashForOvn(
    dbExternalIds(portGroupIds("BaselineAdminNetworkPolicy", BANP))["k8s.ovn.org/id"] ?? "",
  ),
  anpEgress5: hashForOvn(
    dbExternalIds(addressSetIds("AdminNetworkPolicy", ANP, "Egress", 5))["k8s.ovn.org/id"] ?? "",
  ),
  anpIngress0: hashForOvn(
    dbExternalIds(addressSetIds("AdminNetworkPolicy", ANP, "Ingress", 0))["k8s.ovn.org/id"] ?? "",
  ),
  anpIngress3: hashForOvn(
    dbExternalIds(addressSetIds("AdminNetworkPolicy", ANP, "Ingress", 3))["k8s.ovn.org/id"] ?? "",
  ),
  banpIngress0: hashForOvn(
    dbExternalIds(addressSetIds("BaselineAdminNetworkPolicy", BANP, "Ingress", 0))["k8s.ovn.org/id"] ?? "",
  ),
};

function nbOps(): object[] {
  const pod = "d3196102-853f-4c4a-af60-01b0047fc48b";
  const acl = (
    u: string,
    kind: string,
    name: string,
    dir: "Ingress" | "Egress",
    index: number,
    action: string,
    priority: number,
    tier: number,
    match: string,
    severity?: string,
  ): object => ({
    op: "insert",
    table: "ACL",
    uuid: u,
    row: {
      ...(severity === undefined ? {} : { log: true, severity }),
      name: `${kind === "AdminNetworkPolicy" ? "ANP" : "BANP"}:${name}:${dir}:${String(index)}`,
      action,
      direction: dir === "Egress" ? "from-lport" : "to-lport",
      priority,
      tier,
      match,
      meter: "acl-logging",
      external_ids: map(dbExternalIds(aclIds(kind, name, dir, index))),
      options: map(dir === "Egress" ? { "apply-after-lb": "true" } : {}),
    },
  });
  const addressSet = (name: string, ids: DbIds, addresses: string[]): object => ({
    op: "insert",
    table: "Address_Set",
    row: { name, addresses: ["set", addresses], external_ids: map(dbExternalIds(ids)) },
  });
  return [
    {
      op: "insert",
      table: "Logical_Switch_Port",
      uuid: pod,
      row: {
        name: POD_LSP,
        addresses: "0a:58:0a:f4:02:07 10.244.2.7",
        external_ids: map({ namespace: "restricted", pod: "true" }),
      },
    },
    {
      op: "insert",
      table: "Logical_Switch",
      row: { name: NODE, ports: set(pod), other_config: map({ subnet: "10.244.2.0/24" }) },
    },
    acl(
      ACLS.anpEgressDeny,
      "AdminNetworkPolicy",
      ANP,
      "Egress",
      5,
      "drop",
      ANP_START - ANP_PRIORITY * 100 - 5,
      1,
      `inport == @${NAMES.anpPortGroup} && ((ip4.dst == $${NAMES.anpEgress5}))`,
      "alert",
    ),
    acl(
      ACLS.anpIngressAllow,
      "AdminNetworkPolicy",
      ANP,
      "Ingress",
      0,
      "allow-related",
      ANP_START - ANP_PRIORITY * 100,
      1,
      `outport == @${NAMES.anpPortGroup} && ((ip4.src == $${NAMES.anpIngress0}))`,
    ),
    acl(
      ACLS.anpIngressPass,
      "AdminNetworkPolicy",
      ANP,
      "Ingress",
      3,
      "pass",
      ANP_START - ANP_PRIORITY * 100 - 3,
      1,
      `outport == @${NAMES.anpPortGroup} && ((ip4.src == $${NAMES.anpIngress3}))`,
    ),
    acl(
      ACLS.banpIngressDeny,
      "BaselineAdminNetworkPolicy",
      BANP,
      "Ingress",
      0,
      "drop",
      BANP_START,
      3,
      `outport == @${NAMES.banpPortGroup} && ((ip4.src == $${NAMES.banpIngress0}))`,
    ),
    {
      op: "insert",
      table: "Port_Group",
      row: {
        name: NAMES.anpPortGroup,
        ports: set(pod),
        acls: set(ACLS.anpEgressDeny, ACLS.anpIngressAllow, ACLS.anpIngressPass),
        external_ids: map(dbExternalIds(portGroupIds("AdminNetworkPolicy", ANP))),
      },
    },
    {
      op: "insert",
      table: "Port_Group",
      row: {
        name: NAMES.banpPortGroup,
        ports: set(pod),
        acls: set(ACLS.banpIngressDeny),
        external_ids: map(dbExternalIds(portGroupIds("BaselineAdminNetworkPolicy", BANP))),
      },
    },
    addressSet(NAMES.anpEgress5, addressSetIds("AdminNetworkPolicy", ANP, "Egress", 5), ["0.0.0.0/0"]),
    addressSet(NAMES.anpIngress0, addressSetIds("AdminNetworkPolicy", ANP, "Ingress", 0), ["10.244.2.5"]),
    addressSet(NAMES.anpIngress3, addressSetIds("AdminNetworkPolicy", ANP, "Ingress", 3), ["10.244.1.3"]),
    addressSet(NAMES.banpIngress0, addressSetIds("BaselineAdminNetworkPolicy", BANP, "Ingress", 0), [
      "10.244.1.3",
    ]),
  ];
}

const VERDICT_RESET = "reg8[16] = 0; reg8[17] = 0; reg8[18] = 0; reg8[30..31] = 0; ";

function sbOps(): object[] {
  const dp = "e1d2c3b4-a596-4788-9a0b-1c2d3e4f5a08";
  const flow = (
    u: string,
    pipeline: "ingress" | "egress",
    stage: string,
    table: number,
    priority: number,
    match: string,
    actions: string,
    hint?: string,
  ): object => ({
    op: "insert",
    table: "Logical_Flow",
    uuid: u,
    row: {
      logical_datapath: uuid(dp),
      pipeline,
      table_id: table,
      priority,
      match,
      actions,
      external_ids: map({ "stage-name": stage, ...(hint === undefined ? {} : { "stage-hint": hint }) }),
    },
  });
  const anpDeny = ANP_START - ANP_PRIORITY * 100 - 5 + ACL_PRI_OFFSET;
  return [
    {
      op: "insert",
      table: "Datapath_Binding",
      uuid: dp,
      row: { tunnel_key: 3, external_ids: map({ name: NODE }) },
    },
    flow(
      FLOWS.anpDenyEval,
      "ingress",
      "ls_in_acl_after_lb_eval",
      18,
      anpDeny,
      `reg8[30..31] == 1 && reg0[9] == 1 && (inport == @${NAMES.anpPortGroup} && ((ip4.dst == $${NAMES.anpEgress5})))`,
      `log(name="ANP:${ANP}:Egress:5", verdict=drop, severity=alert, meter="acl-logging__${ACLS.anpEgressDeny}"); reg8[17] = 1; next;`,
      ACLS.anpEgressDeny.slice(0, 8),
    ),
    flow(
      FLOWS.afterLbDrop,
      "ingress",
      "ls_in_acl_after_lb_action",
      19,
      1000,
      "reg8[17] == 1",
      `${VERDICT_RESET}drop;`,
    ),
    {
      op: "insert",
      table: "Port_Binding",
      row: {
        logical_port: POD_LSP,
        datapath: uuid(dp),
        tunnel_key: 7,
        mac: ["set", ["0a:58:0a:f4:02:07 10.244.2.7"]],
      },
    },
    flow(
      FLOWS.anpAllowEval,
      "egress",
      "ls_out_acl_eval",
      4,
      ANP_START - ANP_PRIORITY * 100 + ACL_PRI_OFFSET,
      `reg8[30..31] == 1 && reg0[7] == 1 && (outport == @${NAMES.anpPortGroup} && ((ip4.src == $${NAMES.anpIngress0})))`,
      "reg8[16] = 1; reg0[1] = 1; next;",
      ACLS.anpIngressAllow.slice(0, 8),
    ),
    flow(
      FLOWS.anpPassEval,
      "egress",
      "ls_out_acl_eval",
      4,
      ANP_START - ANP_PRIORITY * 100 - 3 + ACL_PRI_OFFSET,
      `reg8[30..31] == 1 && (outport == @${NAMES.anpPortGroup} && ((ip4.src == $${NAMES.anpIngress3})))`,
      "next;",
      ACLS.anpIngressPass.slice(0, 8),
    ),
    flow(
      FLOWS.banpDenyEval,
      "egress",
      "ls_out_acl_eval",
      4,
      BANP_START + ACL_PRI_OFFSET,
      `reg8[30..31] == 3 && reg0[9] == 1 && (outport == @${NAMES.banpPortGroup} && ((ip4.src == $${NAMES.banpIngress0})))`,
      "reg8[17] = 1; next;",
      ACLS.banpIngressDeny.slice(0, 8),
    ),
    flow(FLOWS.outDrop, "egress", "ls_out_acl_action", 5, 1000, "reg8[17] == 1", `${VERDICT_RESET}drop;`),
  ];
}

function writeDb(file: string, schemaFile: string, name: string, ops: object[]): void {
  execFileSync("ovsdb-tool", ["create", file, schemaFile]);
  execFileSync("ovsdb-tool", ["transact", file, JSON.stringify([name, ...ops])]);
}

/** Writes ovnnb_db.db and ovnsb_db.db of the cluster into `dir`; returns their paths. */
export function writeTieredAclCluster(dir: string): { nb: string; sb: string } {
  const nbSchema = join(dir, "ovn-nb-7.0.4.ovsschema");
  writeFileSync(nbSchema, tieredNbSchema());
  const nb = join(dir, "ovnnb_db.db");
  const sb = join(dir, "ovnsb_db.db");
  writeDb(nb, nbSchema, "OVN_Northbound", nbOps());
  writeDb(sb, NB_SCHEMA_FILE.replace("ovn-nb", "ovn-sb"), "OVN_Southbound", sbOps());
  return { nb, sb };
}
