// @ts-check
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";
import layersPlugin from "./tools/eslint-plugin-layers.js";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "scratch/**"] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["scripts/*.mjs", "tools/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  { files: ["src/**/*.ts"], plugins: { local: layersPlugin }, rules: { "local/layers": "error" } },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  { files: ["scripts/*.mjs"], languageOptions: { globals: { console: "readonly", process: "readonly" } } },
);
