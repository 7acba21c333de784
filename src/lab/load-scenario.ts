import { readBounded } from "../files.js";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject } from "ajv";
import { parse as parseYaml } from "yaml";
import { InputError } from "../errors.js";
import type { ClusterShape, Scenario } from "./scenario.js";
import { resolveScenario, type LabCluster } from "./cluster.js";
import { refuseAdminNetworkPolicies } from "./admin-network-policy.js";

const require = createRequire(import.meta.url);
const schema = require("../../schema/scenario.schema.json") as object;
const validate = new Ajv({ allErrors: true }).compile<Scenario>(schema);

/** "/pods/2/nodee" → "pods[2].nodee" */
function fieldOf(e: ErrorObject): string {
  const base = e.instancePath
    .split("/")
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("")
    .replace(/^\./, "");
  if (e.keyword === "additionalProperties") {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return base === "" ? extra : `${base}.${extra}`;
  }
  if (e.keyword === "required") {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return base === "" ? missing : `${base}.${missing}`;
  }
  return base === "" ? "(top level)" : base;
}

function describe(e: ErrorObject): string {
  if (e.keyword === "additionalProperties") return "unknown field";
  if (e.keyword === "required") return "required field is missing";
  if (e.keyword === "enum")
    return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  return e.message ?? e.keyword;
}

/** Parses and checks a scenario text (YAML or JSON); errors name each offending field. */
export function parseScenario(text: string, source: string): Scenario {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new InputError(`${source}: not valid YAML or JSON: ${(e as Error).message.split("\n")[0] ?? ""}`);
  }
  refuseAdminNetworkPolicies(data, source);
  if (!validate(data)) {
    const seen = new Set<string>();
    const lines = (validate.errors ?? [])
      .map((e) => `${fieldOf(e)}: ${describe(e)}`)
      .filter((l) => !seen.has(l) && seen.add(l));
    throw new InputError(`${source} is not a valid scenario:\n  ${lines.join("\n  ")}`, {
      hint: "the scenario format is documented in docs/scenario.md (JSON schema: schema/scenario.schema.json)",
    });
  }
  return data;
}

export function loadScenarioFile(file: string, shape?: ClusterShape): LabCluster {
  // a scenario is a few kB: 4 MiB is generous, and /dev/zero ends at once
  const text = readBounded(file, 4 * 2 ** 20, "scenario file").toString("utf8");
  return resolveScenario(parseScenario(text, file), shape);
}
