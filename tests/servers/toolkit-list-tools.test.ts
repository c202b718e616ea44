import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToolkit, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

/*
 * The read-only list tools (and fly_get_app) on the local backend: they list what exists now in
 * this data dir's account — what was created, not what was deleted, nothing of another account.
 */

const LIST_TOOLS = ["neon_list_projects", "upstash_list_databases", "vercel_list_projects", "vercel_list_deployments", "fly_list_apps", "fly_get_app", "github_list_repos"];

describe("toolkit list tools on the local backend", () => {
  let toolkit: ToolkitConnection;
  let other: ToolkitConnection;
  const env = localEnv();

  beforeAll(async () => {
    toolkit = await connectToolkit(env);
    other = await connectToolkit(localEnv());
  });
  afterAll(async () => {
    await toolkit.close();
    await other.close();
  });

  it("are read-only, declare an outputSchema, and say so over MCP", async () => {
    const { tools } = await toolkit.client.listTools();
    for (const name of LIST_TOOLS) {
      const tool = tools.find((t) => t.name === name);
      expect(tool, name).toBeDefined();
      expect(tool!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      expect(tool!.outputSchema?.type, name).toBe("object");
    }
  });

  it("list Neon projects and Upstash databases of this account only, until they are deleted", async () => {
    const project = output(await toolkit.call("neon_create_project", { name: uniqueName("list-db") }));
    const db = output(await toolkit.call("upstash_create_database", { database_name: uniqueName("list-cache") }));
    try {
      expect((output(await toolkit.call("neon_list_projects")).projects as unknown[])).toContainEqual({ project_id: project.project_id, name: project.name });
      expect((output(await toolkit.call("upstash_list_databases")).databases as unknown[])).toContainEqual({
        database_id: db.database_id,
        database_name: db.database_name,
        primary_region: "us-east-1",
        state: "active",
      });
      // Another data dir is another account: it sees none of them.
      expect(JSON.stringify(output(await other.call("neon_list_projects")))).not.toContain(String(project.project_id));
      expect(JSON.stringify(output(await other.call("upstash_list_databases")))).not.toContain(String(db.database_id));
    } finally {
      await toolkit.call("neon_delete_project", { project_id: project.project_id });
      await toolkit.call("upstash_delete_database", { database_id: db.database_id });
    }
    expect(JSON.stringify(output(await toolkit.call("neon_list_projects")))).not.toContain(String(project.project_id));
    expect(JSON.stringify(output(await toolkit.call("upstash_list_databases")))).not.toContain(String(db.database_id));
  });

  it("list Vercel projects, Fly apps (with their state) and GitHub repositories", async () => {
    const web = output(await toolkit.call("vercel_create_project", { name: "list-web" }));
    output(await toolkit.call("fly_create_app", { app_name: "list-api" }));
    output(await toolkit.call("github_create_repo", { name: "list-repo" }));
    expect(output(await toolkit.call("vercel_list_projects")).projects).toEqual([{ project_id: web.project_id, name: "list-web" }]);
    expect(output(await toolkit.call("vercel_list_deployments", { project_id: "list-web" })).deployments).toEqual([]);
    expect(output(await toolkit.call("fly_list_apps")).apps).toEqual([{ app_name: "list-api", status: "pending" }]);
    expect(output(await toolkit.call("fly_get_app", { app_name: "list-api" }))).toMatchObject({ app_name: "list-api", state: "stopped", machine_ids: [] });
    expect(output(await toolkit.call("github_list_repos")).repos).toEqual([
      expect.objectContaining({ owner: "local", name: "list-repo", full_name: "local/list-repo" }),
    ]);
    const deployed = output(await toolkit.call("fly_deploy", { app_name: "list-api" }));
    try {
      expect(output(await toolkit.call("fly_get_app", { app_name: "list-api" }))).toMatchObject({ state: "started", machine_ids: [deployed.machine_id] });
      expect(output(await toolkit.call("fly_list_apps")).apps).toEqual([{ app_name: "list-api", status: "deployed" }]);
    } finally {
      await toolkit.call("fly_delete_app", { app_name: "list-api" });
      await toolkit.call("vercel_delete_project", { project_id: web.project_id });
      await toolkit.call("github_delete_repo", { name: "list-repo" });
    }
    expect(output(await toolkit.call("fly_list_apps")).apps).toEqual([]);
    expect(output(await toolkit.call("vercel_list_projects")).projects).toEqual([]);
    expect(output(await toolkit.call("github_list_repos")).repos).toEqual([]);
    expect((await toolkit.call("fly_get_app", { app_name: "list-api" })).isError).toBe(true);
  });
});
