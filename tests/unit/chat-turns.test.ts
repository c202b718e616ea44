import { describe, expect, it } from "vitest";
import { asksAgain, asksTeardown, createdResources, planChanges, refersBack, teardownName, teardownPlan, undoCalls } from "../../src/planner/index.ts";
import { askPlannerQuestions, askWorkflowChoice } from "../../src/cli/questions.ts";
import { planOffline } from "../../src/planner/index.ts";
import { workflows, instantiate } from "../../src/workflows/index.ts";
import { renderPlanningFailure, renderPlanner } from "../../src/cli/render.ts";
import type { PlannerQuestion } from "../../src/planner/index.ts";

describe("a turn's changes to the last plan", () => {
  it("lists workflows added and dropped, values changed, and steps by tool (composing renames them)", () => {
    const before = {
      memo: { request: "r", workflows: [{ id: "neon-full-setup", values: { project_name: "orders", region: "eu-west-1" } }, { id: "redis-cache-suite", values: {} }] },
      plan: { name: "a", steps: [{ id: "create_project", tool: "toolkit.neon_create_project", dependencies: [], params: {} }, { id: "cache", tool: "toolkit.upstash_create_database", dependencies: [], params: {} }] },
    };
    const after = {
      memo: { request: "r2", workflows: [{ id: "neon-full-setup", values: { project_name: "billing" } }, { id: "feature-branch", values: { branch: "staging" } }] },
      plan: {
        name: "b",
        steps: [
          { id: "neon_create_project", tool: "toolkit.neon_create_project", dependencies: [], params: {} },
          { id: "feature_git_branch", tool: "workspace.git_branch", dependencies: [], params: {} },
        ],
      },
    };
    expect(planChanges(before, after)).toEqual([
      "+ workflow feature-branch",
      "- workflow redis-cache-suite",
      '~ project_name: "orders" → "billing"',
      '- region (was "eu-west-1")',
      "+ step feature_git_branch (workspace.git_branch)",
      "- step cache (toolkit.upstash_create_database)",
    ]);
  });

  it("a model's plans (no memo) are compared by their parameters", () => {
    const plan = (region: string) => ({ name: "p", params: { region }, steps: [{ id: "a", tool: "t.x", dependencies: [], params: {} }] });
    expect(planChanges({ plan: plan("eu-west-1") }, { plan: plan("us-east-1") })).toEqual(['~ region: "eu-west-1" → "us-east-1"']);
  });
});

describe("what earlier runs of the session made", () => {
  const steps = [
    { id: "create_project", tool: "toolkit.neon_create_project", status: "succeeded", output: { project_id: "prj-1", name: "billing", password: "s3cret", rollback: { tool: "neon_delete_project", arguments: { project_id: "prj-1" } } } },
    { id: "create_redis", tool: "toolkit.upstash_create_database", status: "succeeded", output: { database_id: "db-9", database_name: "sessions", rollback: { tool: "upstash_delete_database", arguments: { database_id: "db-9" } } } },
    { id: "create_app", tool: "toolkit.fly_create_app", status: "failed", output: { app_name: "api" } },
  ];

  it("keeps ids and names of what succeeded, never the rest of the output", () => {
    const made = createdResources(steps, "run-1");
    expect(made).toEqual([
      { kind: "neon_project", id: "prj-1", name: "billing", run: "run-1" },
      { kind: "redis_database", id: "db-9", name: "sessions", run: "run-1" },
    ]);
    expect(JSON.stringify(made)).not.toContain("s3cret");
  });

  it("tears a run down with its create steps' own delete calls, last made first, as the steps' agents", () => {
    const undo = undoCalls(steps, { create_project: "db", create_redis: "redis" });
    const plan = teardownPlan("Stack", "run-1", undo);
    expect(plan.name).toBe(teardownName("Stack", "run-1"));
    expect(plan.steps).toEqual([
      { id: "undo_create_redis", agent: "redis", tool: "toolkit.upstash_delete_database", dependencies: [], params: { database_id: "db-9" } },
      { id: "undo_create_project", agent: "db", tool: "toolkit.neon_delete_project", dependencies: ["undo_create_redis"], params: { project_id: "prj-1" } },
    ]);
  });

  it("reads turns that point back, ask again, or ask to tear down", () => {
    expect(asksTeardown("tear it down")).toBe(true);
    expect(asksTeardown("delete that")).toBe(true);
    expect(asksTeardown("tear down the staging environment")).toBe(false);
    expect(asksAgain("run it again")).toBe(true);
    expect(asksAgain("create a neon project")).toBe(false);
    expect(refersBack("back up that database")).toBe(true);
    expect(refersBack("back up the billing database")).toBe(false);
  });
});

describe("one clear answer per failed turn", () => {
  it("a request nothing matches: the reason once, then the closest workflows with --workflow", () => {
    const message = "no workflow matches the request well enough (best score 0.266 < 0.3); closest: a (A, score 0.2). Offline I can: x, y. Configure a model (OPENAI_API_KEY or OPENAI_BASE_URL) to plan free-form requests.";
    const text = renderPlanningFailure({ problems: [message], planner: { kind: "catalog", reason: message, closest: [{ id: "upstash-redis-setup", name: "Upstash Redis Setup", score: 0.27, matched: [] }] } });
    expect(text).toBe(
      "✗ could not plan: no workflow matches the request well enough (best score 0.266 < 0.3)\n  closest: upstash-redis-setup (Upstash Redis Setup) — run one with --workflow <id>, or say more",
    );
  });

  it("nothing close: what the offline planner can do, in one line", () => {
    const message = "no workflow matches the request. Offline I can: app stack, tear down. Configure a model (OPENAI_API_KEY or OPENAI_BASE_URL) to plan free-form requests.";
    expect(renderPlanningFailure({ problems: [message], planner: { kind: "catalog", reason: message, closest: [] } }).split("\n")).toEqual([
      "✗ could not plan: no workflow matches the request",
      "  offline I can: app stack, tear down; a model (OPENAI_API_KEY or OPENAI_BASE_URL) plans free-form requests",
    ]);
  });

  it("a refinement says which reading was taken and what changed", () => {
    const text = renderPlanner({ planner: { kind: "catalog", reason: "workflow x matched", reading: { kind: "refinement", reason: "changes the last plan (x)" }, changes: ['~ region: "a" → "b"'] }, plan: { name: "X" }, prepared: undefined });
    expect(text).toBe('plan "X" from the catalog planner (no model configured): workflow x matched\n  read as a refinement: changes the last plan (x)\n  ~ region: "a" → "b"');
  });
});

describe("the planner's questions, asked inline", () => {
  const q: PlannerQuestion = {
    workflow: "database-backup",
    param: "project_id",
    question: "Which Neon project (project_id)?",
    why: "ambiguous",
    detail: "2 Neon projects fit the request",
    choices: [
      { value: "prj-1", label: "billing (prj-1)" },
      { value: "prj-2", label: "billing-eu (prj-2)" },
    ],
    example: "prj-1",
    flag: "--param project_id=prj-1",
  };
  const io = { out: () => {}, err: () => {} };

  it("a number picks a listed choice; other answers are typed as --param types them", async () => {
    const prompts: string[] = [];
    const answers = ["2", "42"];
    const read = async (prompt: string) => (prompts.push(prompt), answers.shift());
    const values = await askPlannerQuestions([q, { ...q, param: "pr_number", choices: [] }], { planner: { kind: "catalog", reason: "" } }, read, io);
    expect(values).toEqual({ project_id: "prj-2", pr_number: 42 });
    expect(prompts[0]).toContain("1) billing (prj-1)  2) billing-eu (prj-2)");
  });

  it("an empty answer ends the turn", async () => {
    expect(await askPlannerQuestions([q], { planner: { kind: "catalog", reason: "" } }, async () => "", io)).toBeUndefined();
  });
});

describe("did you mean: the workflows that came close", () => {
  const message = "no workflow matches the request well enough (best score 0.333 < 0.45); closest: upstash-redis-setup (Upstash Redis Setup, score 0.333). Offline I can: x. Configure a model (OPENAI_API_KEY or OPENAI_BASE_URL) to plan free-form requests.";
  const choices = [
    { id: "upstash-redis-setup", name: "Upstash Redis Setup", description: "Create an Upstash Redis database in a region" },
    { id: "redis-cache-suite", name: "Redis for Cache, Sessions and Queue", description: "Create three Upstash Redis databases in parallel" },
  ];
  const planner = { kind: "catalog" as const, reason: message, closest: [], choices };

  it("without a terminal: the reason once, then each choice numbered with its description and the --workflow that runs it", () => {
    expect(renderPlanningFailure({ problems: [message], planner }).split("\n")).toEqual([
      "✗ could not plan: no workflow matches the request well enough (best score 0.333 < 0.45)",
      "  did you mean:",
      "  1) upstash-redis-setup — Create an Upstash Redis database in a region (--workflow upstash-redis-setup)",
      "  2) redis-cache-suite — Create three Upstash Redis databases in parallel (--workflow redis-cache-suite)",
    ]);
  });

  it("asked on a terminal the number answers: no flags", () => {
    expect(renderPlanningFailure({ problems: [message], planner }, { asking: true })).not.toContain("--workflow");
  });

  it("a number or an id picks; anything else asks again; an empty line skips", async () => {
    const errors: string[] = [];
    const io = { out: () => {}, err: (t: string) => errors.push(t) };
    const reader = (answers: string[]) => async () => answers.shift();
    expect(await askWorkflowChoice(choices, reader(["2"]), io)).toBe("redis-cache-suite");
    expect(await askWorkflowChoice(choices, reader(["Upstash-Redis-Setup"]), io)).toBe("upstash-redis-setup");
    expect(await askWorkflowChoice(choices, reader(["7", "the first", "1"]), io)).toBe("upstash-redis-setup");
    expect(errors).toEqual(["answer 1-2 or one of upstash-redis-setup, redis-cache-suite", "answer 1-2 or one of upstash-redis-setup, redis-cache-suite"]);
    expect(await askWorkflowChoice(choices, reader([""]), io)).toBeUndefined();
    expect(await askWorkflowChoice(choices, reader([]), io)).toBeUndefined();
  });

  it("the picked workflow plans the original request: its values filled from it, the missing ones asked", async () => {
    const library = { workflows, instantiate };
    const picked = await planOffline("give me a place to store files called uploads in eu-west-1", { library, workflow: "upstash-redis-setup" });
    expect(picked.kind).toBe("plan");
    if (picked.kind !== "plan") return;
    expect(picked.workflows.map((w) => w.id)).toEqual(["upstash-redis-setup"]);
    expect(picked.memo.workflows).toEqual([{ id: "upstash-redis-setup", values: { database_name: "uploads", region: "eu-west-1" } }]);

    const asks = await planOffline("give me a place to store files called uploads", { library, workflow: "database-backup" });
    expect(asks.kind).toBe("question");
    if (asks.kind !== "question") return;
    expect(asks.questions.map((q) => [q.param, q.why])).toEqual([["project_id", "missing"]]);
  });
});
