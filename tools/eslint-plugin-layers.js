// @ts-check
import { dirname, relative, resolve } from "node:path";
import { LAYERS, TYPE_ONLY, layerOf } from "./layers.js";

const SRC = resolve(import.meta.dirname, "..", "src");

/** @param {string} file @param {string} spec @param {boolean} typeOnly */
function check(file, spec, typeOnly) {
  if (!spec.startsWith(".")) return undefined;
  const from = relative(SRC, file);
  const to = relative(SRC, resolve(dirname(file), spec));
  if (from.startsWith("..") || to.startsWith("..")) return undefined;
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return undefined;
  const allowed = LAYERS[a];
  if (allowed === undefined) return `src/${a}/ is not a known layer: add it to tools/layers.js`;
  if (allowed.includes(b)) return undefined;
  if (typeOnly && (TYPE_ONLY[a] ?? []).includes(b)) return undefined;
  return `src/${a === "." ? "" : `${a}/`} may not import src/${b === "." ? "" : `${b}/`} (${spec}): see tools/layers.js and docs/architecture.md`;
}

/** @type {import("eslint").Rule.RuleModule} */
const layers = {
  meta: {
    type: "problem",
    docs: { description: "imports follow the layers of tools/layers.js" },
    schema: [],
  },
  create(context) {
    /** @param {any} node an import or export with a source (typescript-eslint's AST: importKind/exportKind) */
    const visit = (node) => {
      const s = node.source;
      if (s?.type !== "Literal" || typeof s.value !== "string") return;
      const kind = node.importKind ?? node.exportKind;
      /** @type {{ importKind?: string }[]} */
      const specifiers = node.specifiers ?? [];
      const typeOnly =
        kind === "type" || (specifiers.length > 0 && specifiers.every((x) => x.importKind === "type"));
      const message = check(context.filename, s.value, typeOnly);
      if (message !== undefined) context.report({ node: s, message });
    };
    return {
      ImportDeclaration: visit,
      ImportExpression: visit,
      ExportNamedDeclaration: visit,
      ExportAllDeclaration: visit,
    };
  },
};

export default { rules: { layers } };
