// The project's layers, held by the linter: prompts ← src (lower layers) ← agents ← graphs ← src/run
// ← src/cli (and the viewer and workers). Only src/config.ts reads process.env.
import tseslint from "typescript-eslint";

const LOWER = ["src/**/*.ts"];
const ABOVE_SRC = ["src/run/**", "src/cli/**", "src/ui/**", "src/worker/**"];

/** `no-restricted-imports` patterns for imports that climb from `from` into what sits above it. */
function forbid(message, ...groups) {
  return { "no-restricted-imports": ["error", { patterns: groups.map((group) => ({ group, message, allowTypeImports: false })) }] };
}

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "src/servers/workspace/templates/*/files/**", "tests/fixtures/workspace/**", ".credit-optimizer/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 2023, sourceType: "module" } },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["src/**/*.ts", "agents/**/*.ts", "graphs/**/*.ts", "prompts/**/*.ts"],
    ignores: ["src/config.ts"],
    rules: {
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Only src/config.ts reads process.env: take the value from AppConfig." }],
    },
  },
  { files: ["prompts/**/*.ts"], rules: forbid("prompts hold text only: they import nothing of the project.", ["**/src/**", "**/agents/**", "**/graphs/**"]) },
  {
    files: LOWER,
    ignores: ABOVE_SRC,
    rules: forbid("src's lower layers sit below agents, graphs and src/run: pass what they need in.", ["**/agents/**", "**/graphs/**", "**/run/**", "**/cli/**", "**/ui/**", "**/worker/**"]),
  },
  {
    files: ["agents/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/graphs/**", "!**/graphs/state.ts"], message: "agents sit below graphs: only the state's types (graphs/state.ts) may be imported." },
            { group: ["**/graphs/state.ts"], message: "agents import only the state's types (import type).", allowTypeImports: true },
            { group: ["**/src/run/**", "**/src/cli/**", "**/src/ui/**", "**/src/worker/**"], message: "agents sit below the composition root and its clients." },
          ],
        },
      ],
    },
  },
  { files: ["graphs/**/*.ts"], rules: forbid("graphs only wire nodes: the composition root (src/run) and its clients sit above them.", ["**/src/run/**", "**/src/cli/**", "**/src/ui/**", "**/src/worker/**"]) },
  { files: ["src/run/**/*.ts"], rules: forbid("the composition root sits below its clients.", ["**/cli/**", "**/ui/**", "**/worker/**"]) },
);
