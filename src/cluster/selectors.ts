// Label and field selectors as the Kubernetes API server parses and applies them to lists
// (k8s.io/apimachinery/pkg/labels and pkg/fields): for the lab and snapshot backends, and the test API server.
import { InputError } from "../errors.js";

export class SelectorError extends InputError {}

export type LabelOperator = "exists" | "doesNotExist" | "equals" | "notEquals" | "in" | "notIn" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type FieldOperator = "equals" | "notEquals";

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

const KEY_CHARS = String.raw`[^\s=!(),<>]+`;
const EXISTS = new RegExp(String.raw`^(${KEY_CHARS})$`);
const DOES_NOT_EXIST = new RegExp(String.raw`^!\s*(${KEY_CHARS})$`);
const EQUALITY = new RegExp(String.raw`^(${KEY_CHARS})\s*(==|=|!=)\s*([^\s=!(),<>]*)$`);
const SET = new RegExp(String.raw`^(${KEY_CHARS})\s+(in|notin)\s*\(([^()]*)\)$`);
const ORDER = new RegExp(String.raw`^(${KEY_CHARS})\s*([<>])\s*(\S+)$`);

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function parseLabelSelector(text: string): LabelRequirement[] {
  if (text.trim() === "") return [];
  return splitOutsideParentheses(text).map(parseLabelRequirement);
}

export function matchesLabelSelector(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return requirements.every((requirement) => matchesLabelRequirement(requirement, labels ?? {}));
}

export function parseFieldSelector(text: string): FieldRequirement[] {
  if (text.trim() === "") return [];
  return splitUnescaped(text, ",").map(parseFieldRequirement);
}

/** `fields` holds every field the resource supports; an unset field is "" as on a real server. */
export function matchesFieldSelector(
  requirements: readonly FieldRequirement[],
  fields: Readonly<Record<string, string>>,
): boolean {
  return requirements.every((requirement) => {
    const actual = fields[requirement.field] ?? "";
    return requirement.operator === "equals" ? actual === requirement.value : actual !== requirement.value;
  });
}

function splitOutsideParentheses(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if (char === "(") depth++;
    if (char === ")") depth--;
    if (depth < 0) throw new SelectorError(`unable to parse requirement: unexpected ')' in "${text}"`);
    if (char === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  if (depth !== 0) throw new SelectorError(`unable to parse requirement: unclosed '(' in "${text}"`);
  parts.push(current);
  return parts;
}

function parseLabelRequirement(raw: string): LabelRequirement {
  const text = raw.trim();
  if (text === "") throw new SelectorError("found ',', expected: !, identifier, or 'end of string'");
  const requirement = matchLabelRequirement(text);
  if (requirement === undefined) throw new SelectorError(`unable to parse requirement: "${text}"`);
  validateLabelKey(requirement.key);
  validateLabelValues(requirement);
  return requirement;
}

function matchLabelRequirement(text: string): LabelRequirement | undefined {
  let match = DOES_NOT_EXIST.exec(text);
  if (match?.[1] !== undefined) return { key: match[1], operator: "doesNotExist", values: [] };
  match = SET.exec(text);
  if (match?.[1] !== undefined && match[3] !== undefined) {
    const values = match[3].split(",").map((value) => value.trim());
    return { key: match[1], operator: match[2] === "in" ? "in" : "notIn", values };
  }
  match = EQUALITY.exec(text);
  if (match?.[1] !== undefined && match[3] !== undefined) {
    return { key: match[1], operator: match[2] === "!=" ? "notEquals" : "equals", values: [match[3]] };
  }
  match = ORDER.exec(text);
  if (match?.[1] !== undefined && match[3] !== undefined) {
    return { key: match[1], operator: match[2] === ">" ? "gt" : "lt", values: [match[3]] };
  }
  match = EXISTS.exec(text);
  if (match?.[1] !== undefined) return { key: match[1], operator: "exists", values: [] };
  return undefined;
}

function validateLabelKey(key: string): void {
  const slash = key.indexOf("/");
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  if (!LABEL_NAME.test(name)) {
    throw new SelectorError(
      `unable to parse requirement: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw new SelectorError(
      `unable to parse requirement: Invalid value: "${key}": prefix part must be a lowercase RFC 1123 subdomain`,
    );
  }
}

function validateLabelValues(requirement: LabelRequirement): void {
  if (requirement.operator === "gt" || requirement.operator === "lt") {
    if (!/^-?\d+$/.test(requirement.values[0] ?? "")) {
      throw new SelectorError(
        `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
      );
    }
    return;
  }
  if (
    (requirement.operator === "in" || requirement.operator === "notIn") &&
    requirement.values.every((v) => v === "")
  ) {
    throw new SelectorError(
      "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty",
    );
  }
  for (const value of requirement.values) {
    if (!LABEL_VALUE.test(value)) {
      throw new SelectorError(
        `unable to parse requirement: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      );
    }
  }
}

function matchesLabelRequirement(
  requirement: LabelRequirement,
  labels: Readonly<Record<string, string>>,
): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const value = labels[requirement.key];
  switch (requirement.operator) {
    case "exists":
      return present;
    case "doesNotExist":
      return !present;
    case "equals":
    case "in":
      return present && requirement.values.includes(value ?? "");
    case "notEquals":
    case "notIn":
      return !present || !requirement.values.includes(value ?? "");
    case "gt":
    case "lt":
      return present && compareAsIntegers(value ?? "", requirement.values[0] ?? "", requirement.operator);
  }
}

function compareAsIntegers(actual: string, bound: string, operator: "gt" | "lt"): boolean {
  if (!/^-?\d+$/.test(actual)) return false;
  return operator === "gt" ? Number(actual) > Number(bound) : Number(actual) < Number(bound);
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === "\\" && i + 1 < text.length) {
      current += char + text.charAt(i + 1);
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

function parseFieldRequirement(term: string): FieldRequirement {
  // The operator is the leftmost unescaped "!=", "==" or "=", as in fields.splitTerm.
  for (let i = 0; i < term.length; i++) {
    const char = term.charAt(i);
    if (char === "\\") {
      i++;
      continue;
    }
    const operatorText = ["!=", "==", "="].find((candidate) => term.startsWith(candidate, i));
    if (operatorText !== undefined) {
      const field = term.slice(0, i).trim();
      const value = unescapeFieldValue(term.slice(i + operatorText.length));
      if (field === "") break;
      return { field, operator: operatorText === "!=" ? "notEquals" : "equals", value };
    }
  }
  throw new SelectorError(`invalid selector: '${term}'; can't understand '${term}'`);
}

function unescapeFieldValue(text: string): string {
  let value = "";
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char !== "\\") {
      value += char;
      continue;
    }
    const next = text.charAt(i + 1);
    if (next !== "\\" && next !== "," && next !== "=") {
      throw new SelectorError(`invalid field selector: invalid escape sequence: '\\${next}'`);
    }
    value += next;
    i++;
  }
  return value;
}
