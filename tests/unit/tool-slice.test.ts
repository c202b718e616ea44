import { describe, expect, it } from "vitest";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { compactSchema, toolSignature } from "../../src/models/tool-signature.ts";
import { sliceTools } from "../../src/planner/tool-slice.ts";
import { workflows } from "../../src/workflows/index.ts";

const tool = (server: string, name: string, inputSchema: Record<string, unknown> = { type: "object", properties: {} }, description = `${name} tool.`): ToolInfo =>
  ({ server, name, description, inputSchema, annotations: { destructiveHint: name.includes("delete") } }) as unknown as ToolInfo;

const names = ["neon_create_project", "neon_create_database", "neon_delete_project", "neon_list_projects", "fly_list_apps", "upstash_create_database", "upstash_delete_database", "fly_create_app", "fly_deploy", "vercel_create_project", "vercel_deploy", "github_create_repo"];
const TOOLS: ToolInfo[] = [
  ...names.map((n) => tool("toolkit", n)),
  tool("workspace", "delegate_code_generation"),
  tool("workspace", "run_lint"),
  tool("workspace", "git_commit"),
  tool("thinking", "sequential_thinking"),
];
const picked = (request: string, earlierTools?: string[]) => sliceTools(request, TOOLS, { templates: workflows, earlierTools });

describe("sliceTools", () => {
  it("sends the RAD request the template's tools of the providers it names, and no delete tools", () => {
    const slice = picked("Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis");
    const sent = slice.tools.map((t) => t.name);
    expect(slice.whole).toBe(false);
    expect(slice.templates[0]!.id).toBe("rad-crawler-setup");
    expect(sent).toEqual(expect.arrayContaining(["neon_create_project", "neon_create_database", "upstash_create_database", "fly_create_app", "fly_deploy", "delegate_code_generation"]));
    expect(sent).not.toContain("vercel_deploy");
    expect(sent.filter((n) => n.includes("delete"))).toEqual([]);
    expect(sent).not.toContain("sequential_thinking");
    expect(sent).not.toContain("github_create_repo");
  });

  it("adds delete tools only when the request removes something, words that name a tool, and tools of earlier turns", () => {
    expect(picked("delete the neon project billing").tools.map((t) => t.name)).toContain("neon_delete_project");
    expect(picked("lint the shop project").tools.map((t) => t.name)).toContain("run_lint");
    expect(picked("make it bigger", ["toolkit.github_create_repo"]).tools.map((t) => t.name)).toEqual(["github_create_repo"]);
  });

  it("sends a named provider's list tools only when the request asks what exists", () => {
    expect(picked("Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis").tools.map((t) => t.name).filter((n) => n.includes("_list_"))).toEqual([]);
    expect(picked("which Neon projects and Fly apps exist?").tools.map((t) => t.name)).toEqual(expect.arrayContaining(["neon_list_projects", "fly_list_apps"]));
    expect(picked("check my fly app").tools.map((t) => t.name)).toContain("fly_list_apps");
  });

  it("sends the whole catalog when nothing matches", () => {
    const slice = picked("hello there");
    expect(slice.whole).toBe(true);
    expect(slice.tools).toHaveLength(TOOLS.length);
  });
});

describe("toolSignature", () => {
  it("writes a tool as one line: required and optional params, defaults, enums, records, notes only where names do not say it", () => {
    const schema = {
      type: "object",
      properties: {
        app_name: { type: "string", pattern: "^[a-z]+$", description: "Fly app name" },
        region: { type: "string", description: "Region, e.g. fra. Picked by Fly when absent." },
        port: { type: "integer", default: 8080, maximum: 65535 },
        target: { enum: ["production", "preview"] },
        env: { type: "object", additionalProperties: { type: "string" } },
      },
      required: ["app_name"],
      $schema: "http://json-schema.org/draft-07/schema#",
    };
    const line = toolSignature(tool("toolkit", "fly_deploy", schema, "Deploy a Fly.io app: secrets and machines. More text.\nSecond line."));
    expect(line).toBe('toolkit.fly_deploy(app_name: string, region?: string /* Region, e.g. fra */, port?: integer = 8080, target?: "production" | "preview", env?: {[k]: string}) — Deploy a Fly.io app: secrets and machines');
    expect(toolSignature(tool("toolkit", "neon_delete_project"))).toContain("[destructive]");
  });

  it("compactSchema drops $schema, propertyNames and the largest safe integer, and keeps what constrains", () => {
    const schema = { $schema: "x", type: "object", properties: { n: { type: "integer", maximum: Number.MAX_SAFE_INTEGER, minimum: 0 }, r: { type: "object", propertyNames: { type: "string" } } }, required: ["n"] };
    expect(compactSchema(schema)).toEqual({ type: "object", properties: { n: { type: "integer", minimum: 0 }, r: { type: "object" } }, required: ["n"] });
  });
});
