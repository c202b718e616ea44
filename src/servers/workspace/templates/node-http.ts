import { GITIGNORE, json, readTemplateFiles } from "./read-files.ts";
import type { GeneratedFile, ProjectTemplate, TemplateVars } from "./types.ts";

const SOURCES = ["src/server.js", "src/app.js", "test/app.test.js"] as const;

/** Dependency-free Node HTTP service (plain JavaScript) with GET /health. */
export const nodeHttpTemplate: ProjectTemplate = {
  id: "node-http",
  description: "Dependency-free Node.js HTTP service in plain JavaScript with GET /health",
  async render(vars: TemplateVars): Promise<GeneratedFile[]> {
    const sources = await readTemplateFiles(new URL("./node-http/", import.meta.url), SOURCES);
    return [
      { path: "package.json", content: json(packageJson(vars.name)) },
      { path: ".gitignore", content: GITIGNORE },
      { path: "README.md", content: readme(vars) },
      ...sources,
    ];
  },
};

function packageJson(name: string): unknown {
  return {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: { start: "node src/server.js", test: "node --test test/app.test.js" },
  };
}

function readme(vars: TemplateVars): string {
  return `# ${vars.name}

${vars.task}${vars.context === "" ? "" : `\n\nContext: ${vars.context}`}

A dependency-free Node.js HTTP service.

- \`PORT\` — HTTP port (default 3000); \`SERVICE_NAME\` — name reported by \`GET /\`.
- \`GET /health\` — \`200 { status: "ok", uptimeSeconds }\`.
- \`npm start\` runs \`node src/server.js\`; \`npm test\` runs \`node --test\`.
`;
}
