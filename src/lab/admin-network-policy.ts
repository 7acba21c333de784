import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";

/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy in a scenario: refused, with the reason. ovnkube-controller
 * writes their ACLs in tier 1 (ANP) and 3 (BANP), with a `pass` action for the ANP rules that hand a packet on
 * to NetworkPolicies; OVN added the ACL `tier` column and the `pass` action in 23.06 (NB schema 7.0.4). An
 * OVN without them would have to run the ACLs in a single tier, where their priorities (ANP 20000-30000, BANP
 * 1651-1750) and passes would not decide what ovn-kubernetes' do: the lab would not be the cluster.
 */

/** The scenario fields that declare them. */
const FIELDS = ["adminNetworkPolicies", "baselineAdminNetworkPolicy", "baselineAdminNetworkPolicies"];

export const NB_SCHEMA_FILE = "/usr/share/ovn/ovn-nb.ovsschema";

interface NbSchema {
  readonly version?: string;
  readonly tables?: {
    readonly ACL?: {
      readonly columns?: Readonly<Record<string, { readonly type?: unknown } | undefined>>;
    };
  };
}

/** What the installed OVN lacks for tiered ACLs ("" when it has both). */
export function missingTieredAcls(schemaText: string): string {
  const schema = JSON.parse(schemaText) as NbSchema;
  const columns = schema.tables?.ACL?.columns ?? {};
  const lacks = [
    ...(columns.tier === undefined ? ["no ACL tier column"] : []),
    ...(JSON.stringify(columns.action?.type ?? "").includes('"pass"') ? [] : ['no "pass" ACL action']),
  ];
  return lacks.length === 0 ? "" : `OVN NB schema ${schema.version ?? "?"} has ${lacks.join(" and ")}`;
}

/** Throws a one-line InputError when the parsed scenario declares an ANP or a BANP. */
export function refuseAdminNetworkPolicies(data: unknown, source: string, schemaFile = NB_SCHEMA_FILE): void {
  if (typeof data !== "object" || data === null) return;
  const field = FIELDS.find((f) => f in data);
  if (field === undefined) return;
  let why: string;
  try {
    const lacks = missingTieredAcls(readFileSync(schemaFile, "utf8"));
    why =
      lacks === ""
        ? "the lab does not write their tiered ACLs yet"
        : `the lab's ${lacks}, which ovn-kubernetes' AdminNetworkPolicy ACLs need (OVN 23.06+)`;
  } catch (e) {
    why = `the OVN NB schema ${schemaFile} cannot be read (${(e as Error).message.split("\n")[0] ?? ""})`;
  }
  throw new InputError(`${source}: ${field}: the lab cannot build AdminNetworkPolicies: ${why}`);
}
