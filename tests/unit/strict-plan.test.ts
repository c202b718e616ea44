import { HumanMessage } from "@langchain/core/messages";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { planSchemaFor } from "../../agents/architect.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { createChatModel } from "../../src/models/chat-model.ts";
import { planModel } from "../../src/models/streamed-plan.ts";
import { fromStrictPlan, STRICT_PLAN_SCHEMA } from "../../src/models/strict-plan.ts";
import { compactSchema } from "../../src/models/tool-signature.ts";
import { Plan } from "../../src/plan/schema.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { configuredChatModel } from "../../src/run/chat-models.ts";
import { testDeps } from "../graphs/helpers.ts";
import { infraCaller } from "../helpers/fake-caller.ts";
import { startOpenAIStub, strictSchemaProblems, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

const PLAN = {
  name: "Shop stack",
  steps: [
    { id: "db", agent: "db", tool: "infra.create", dependencies: [], params: { name: "shop-db" }, rollback: { tool: "infra.delete", params: { id: "${db.id}" } } },
    { id: "deploy", agent: "deploy", tool: "infra.noop", dependencies: ["db"], params: { name: "shop", value: "${db.id}" }, retry: { maxAttempts: 2 } },
  ],
};

/** The plan as a strict-mode model writes it: every field present (null when unused), arguments JSON-encoded. */
const strictOf = (plan: typeof PLAN) => ({
  name: plan.name,
  description: null,
  params: null,
  steps: plan.steps.map((s) => ({
    id: s.id,
    agent: s.agent,
    tool: s.tool,
    dependencies: s.dependencies,
    params: JSON.stringify(s.params),
    retry: "retry" in s ? { maxAttempts: s.retry!.maxAttempts, backoffMs: null } : null,
    timeoutMs: null,
    rollback: "rollback" in s ? { tool: s.rollback!.tool, params: JSON.stringify(s.rollback!.params) } : null,
    estimate: null,
  })),
});

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

describe("the strict plan schema", () => {
  it("meets strict mode's rules, where the zod schema's JSON does not", () => {
    expect(strictSchemaProblems(STRICT_PLAN_SCHEMA)).toEqual([]);
    expect(planSchemaFor("jsonSchema")).toBe(STRICT_PLAN_SCHEMA);
    const loose = strictSchemaProblems(compactSchema(toJsonSchema(Plan)));
    expect(loose.join("\n")).toMatch(/root\.properties\.description|root: 'required'/);
    expect(loose.join("\n")).toContain("'additionalProperties' is required to be supplied and to be false");
    expect(loose.join("\n")).toContain("'minItems' is not permitted");
    // Function calling and JSON mode keep the compact zod schema (Ollama, vLLM, LM Studio take it).
    expect(planSchemaFor("functionCalling")).toEqual(compactSchema(toJsonSchema(Plan)));
  });

  it("the rules catch an open record, a missing required key and an unsupported keyword", () => {
    const closed = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties), additionalProperties: false });
    expect(strictSchemaProblems(closed({ a: { type: "object", additionalProperties: { type: "string" } } }))[0]).toContain("root.a: 'additionalProperties'");
    expect(strictSchemaProblems({ ...closed({ a: { type: "string" } }), required: [] })[0]).toContain("Missing 'a'");
    expect(strictSchemaProblems(closed({ a: { type: "string", pattern: "^x" } }))).toEqual(["root.a: 'pattern' is not permitted"]);
  });

  it("a strict reply decodes into the same plan, and arguments that do not decode are named by the validator", () => {
    expect(fromStrictPlan(strictOf(PLAN))).toEqual(PLAN);
    const tools = infraCaller().tools;
    expect(validatePlan(fromStrictPlan(strictOf(PLAN)), { tools }).ok).toBe(true);
    const broken = strictOf(PLAN);
    broken.steps[0]!.params = "{\"name\": ";
    const validation = validatePlan(fromStrictPlan(broken), { tools });
    expect(validation.ok).toBe(false);
    if (!validation.ok) expect(validation.problems[0]).toMatchObject({ step: "db", field: expect.stringContaining("params") });
  });
});

describe("jsonSchema mode against the stand-in, which refuses what strict mode refuses", () => {
  const model = (s: OpenAIStub) => createChatModel({ name: "gpt-4o-mini", baseUrl: s.baseUrl, apiKey: "sk-test-not-real" }, { maxRetries: 0 });

  it("the stand-in answers the zod schema with OpenAI's 400", async () => {
    stub = await startOpenAIStub([{ content: "{}" }]);
    const loose = { name: "plan", description: "Submit the plan.", schema: compactSchema(toJsonSchema(Plan)) as Record<string, unknown> };
    await expect(planModel(model(stub), "jsonSchema", loose).invoke([new HumanMessage("plan it")])).rejects.toThrow(/Invalid schema for response_format 'plan'.*additionalProperties/);
  });

  for (const streamPlans of [true, false]) {
    it(`the architect sends the strict schema and runs the decoded plan (${streamPlans ? "streamed" : "not streamed"})`, async () => {
      stub = await startOpenAIStub((request: StubRequest): StubReply =>
        request.body["response_format"] ? { content: JSON.stringify(strictOf(PLAN)), usage: { prompt_tokens: 800, completion_tokens: 90 } } : { content: "done" },
      );
      const env = { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" };
      const base = testDeps(infraCaller(), {}, env);
      const graph = compileOrchestrator({ ...base, structuredMethod: "jsonSchema", streamPlans, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
      const final = (await graph.invoke({ request: "Set up the shop", autoApprove: true, allowDestructive: true }, { configurable: { thread_id: `strict-${streamPlans}` } })) as RunState;
      const sent = stub.requests[0]!.body;
      expect(sent["stream"]).toBe(streamPlans);
      expect(sent["response_format"]).toMatchObject({ type: "json_schema", json_schema: { strict: true, schema: STRICT_PLAN_SCHEMA } });
      expect(final.planProblems).toEqual([]);
      expect(final.plan).toEqual(PLAN);
      expect(final.report?.status).toBe("succeeded");
      if (streamPlans) expect(final.report?.planner?.streamed?.map((s) => [s.id, s.status])).toEqual([["db", "ok"], ["deploy", "ok"]]);
    });
  }
});
