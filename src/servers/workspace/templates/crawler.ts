import { GITIGNORE, json, readTemplateFiles } from "./read-files.ts";
import type { GeneratedFile, ProjectTemplate, TemplateVars } from "./types.ts";

const SOURCES = ["src/index.ts", "src/extract.ts", "test/extract.test.ts"] as const;

/** TypeScript crawler service: Postgres (`DATABASE_URL`) for pages, Redis (`REDIS_URL`) as cache, `/health`. */
export const crawlerTemplate: ProjectTemplate = {
  id: "crawler",
  description: "TypeScript web crawler service storing pages in Postgres and caching them in Redis, with GET /health",
  async render(vars: TemplateVars): Promise<GeneratedFile[]> {
    const sources = await readTemplateFiles(new URL("./crawler/", import.meta.url), SOURCES);
    return [
      { path: "package.json", content: json(packageJson(vars.name)) },
      { path: "tsconfig.json", content: json(TSCONFIG) },
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
    scripts: {
      start: "tsx src/index.ts",
      test: "node --import tsx --test test/extract.test.ts",
      typecheck: "tsc --noEmit",
    },
    dependencies: { pg: "^8.16.0", redis: "^5.9.0", tsx: "^4.20.0" },
    devDependencies: { "@types/node": "^20.19.0", "@types/pg": "^8.15.0", typescript: "^5.9.0" },
  };
}

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2023"],
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
  },
  include: ["src", "test"],
};

function readme(vars: TemplateVars): string {
  return `# ${vars.name}

${vars.task}${vars.context === "" ? "" : `\n\nContext: ${vars.context}`}

A small crawler service: it fetches a page, extracts its title and links, stores the page in
Postgres (table \`crawled_pages\`, created on start) and caches it in Redis.

## Configuration

| Variable | Meaning |
| --- | --- |
| \`PORT\` | HTTP port (default 3000) |
| \`DATABASE_URL\` | Postgres connection string, e.g. \`postgres://user:pass@host:5432/db\` |
| \`REDIS_URL\` | Redis URL, e.g. \`redis://127.0.0.1:6379\` (\`rediss://\` for TLS) |
| \`CACHE_TTL_SECONDS\` | How long a crawled page stays cached (default 3600) |

## API

- \`GET /health\` — always 200 once listening: \`{ status, db, cache }\` with \`up\`, \`down\` or \`not configured\`.
- \`POST /crawl\` with \`{ "url": "https://example.com" }\` — fetches (or reads from the cache), stores and returns
  \`{ url, status, title, links, crawledAt, fromCache, stored, cached }\`.
- \`GET /pages?limit=20\` — the most recently crawled pages.

## Scripts

- \`npm start\` — \`tsx src/index.ts\`
- \`npm test\` — unit tests of the link extraction (\`node --test\`)
- \`npm run typecheck\` — \`tsc --noEmit\`
`;
}
