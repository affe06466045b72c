// ESLint: typescript-eslint's type-checked rules over every TypeScript file, with types from
// each workspace's tsconfig (tests through its tsconfig.test.json). Generated code is not linted.
import tseslint from "typescript-eslint";

export default tseslint.config(
  // .tmp/ holds older builds (a whole tree each, with its own eslint.config.js) and .data/ the dev stack's files.
  { ignores: [".tmp/**", ".data/**", "**/dist/**", "**/node_modules/**", "proto/src/gen/**", "bench/results/**", "**/*.js", "**/*.mjs"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["vitest.config.ts"], defaultProject: "tsconfig.base.json" },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      // A `let` read by closures before its one assignment (wiring objects that refer to each other).
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // Lifecycle hooks (start/stop) and test doubles of async interfaces are `async` without an
      // await on purpose: a throw in them becomes a rejection, as callers expect.
      "@typescript-eslint/require-await": "off",
      // HTTP/2 flags are bits whose meaning depends on the frame type: END_STREAM and ACK are both 0x1.
      "@typescript-eslint/no-duplicate-enum-values": "off",
    },
  },
);
