import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkpointMemory } from "../../agents/memory.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import type { InventoryLookup, ResourceKind, WorkflowLibrary } from "../../src/planner/index.ts";
import { resourceId } from "../../src/workflows/params.ts";
import type { WorkflowTemplate } from "../../src/workflows/types.ts";
import { infraCaller } from "../helpers/fake-caller.ts";
import { TEMPLATES, testDeps } from "./helpers.ts";

/** A backup template over the fake infra server, whose project is an existing resource. */
const backup: WorkflowTemplate = {
  id: "backup",
  name: "Back up a database",
  description: "Back up a Neon database as a branch",
  category: "operations",
  tags: ["backup", "snapshot"],
  examples: ["Back up my database"],
  params: z.object({ project_id: resourceId("Neon project to back up") }),
  plan: { name: "Backup", steps: [{ id: "backup", tool: "infra.noop", dependencies: [], params: { name: "backup", value: "${project_id}" } }] },
};
/** As the real library does: the values become the plan's parameters, so `--param` can set them. */
const library: WorkflowLibrary = { workflows: [...TEMPLATES, backup], instantiate: (template, values) => ({ ...structuredClone(template.plan), params: values }) };

const PROJECTS = [
  { id: "prj-billing", name: "billing-db" },
  { id: "prj-shop-a", name: "shop-staging-db" },
  { id: "prj-shop-b", name: "shop-prod-db" },
];
function inventory(): InventoryLookup & { asked: ResourceKind[] } {
  const asked: ResourceKind[] = [];
  return Object.assign(async (kind: ResourceKind) => (asked.push(kind), kind === "neon_project" ? PROJECTS : []), { asked });
}

let n = 0;
const thread = () => ({ configurable: { thread_id: `offline-${++n}` } });

describe("architect with the offline planner", () => {
  it("fills an id from the inventory the deps give it, and runs the plan", async () => {
    const caller = infraCaller();
    const lookup = inventory();
    const graph = compileOrchestrator(testDeps(caller, { library: async () => library, inventory: lookup }), new MemorySaver());
    const final = (await graph.invoke({ request: "back up the billing database" }, thread())) as RunState;
    expect(final.report?.status).toBe("succeeded");
    expect(caller.callsOf("noop").map((c) => c.args["value"])).toEqual(["prj-billing"]);
    expect(final.planner?.params).toMatchObject([{ name: "project_id", value: "prj-billing", source: "inventory" }]);
    expect(lookup.asked).toContain("neon_project");
  });

  it("an ambiguous reference stops planning with a structured question; --param answers it", async () => {
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller, { library: async () => library, inventory: inventory() }), new MemorySaver());
    const asked = (await graph.invoke({ request: "back up the shop database" }, thread())) as RunState;
    expect(asked.report?.outcome).toBe("planning_failed");
    expect(asked.planner?.missing).toMatchObject([{ param: "project_id", why: "ambiguous", choices: [{ value: "prj-shop-a" }, { value: "prj-shop-b" }] }]);
    expect(asked.report?.problems[0]).toContain("--param project_id=prj-shop-a");
    expect(caller.calls).toHaveLength(0);
    const answered = (await graph.invoke({ request: "back up the shop database", params: { project_id: "prj-shop-b" } }, thread())) as RunState;
    expect(answered.report?.status).toBe("succeeded");
    expect(caller.callsOf("noop").map((c) => c.args["value"])).toEqual(["prj-shop-b"]);
  });

  it("a follow-up in the same session changes the last plan instead of starting over", async () => {
    const saver = new MemorySaver();
    const caller = infraCaller();
    const graph = compileOrchestrator(testDeps(caller, { memory: checkpointMemory(saver), library: async () => library }), saver);
    await graph.invoke({ request: "Set up my app called shop with a database, a cache and a deployment in eu-west-1", session: "s1", dryRun: true }, thread());
    const next = (await graph.invoke({ request: "make it eu-central-1", session: "s1", dryRun: true }, thread())) as RunState;
    expect(next.planner?.reading?.kind).toBe("refinement");
    expect((next.plan as { params?: Record<string, unknown> }).params).toMatchObject({ name: "shop", region: "eu-central-1" });
  });
});
