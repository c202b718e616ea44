import { HumanMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { createChatModel } from "../../src/models/chat-model.ts";
import { closedSteps, planModel, streamPlan, type CompletedStep } from "../../src/models/streamed-plan.ts";
import { checkArrivedStep } from "../../src/plan/validate.ts";
import { configuredChatModel } from "../../src/run/chat-models.ts";
import { testDeps } from "../graphs/helpers.ts";
import { infraCaller } from "../helpers/fake-caller.ts";
import { countTokens, startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

const PLAN = {
  name: "Shop stack",
  description: "A database, a cache, and a deploy that reads both.",
  steps: [
    { id: "db", agent: "db", tool: "infra.create", dependencies: [], params: { name: "shop-db" } },
    { id: "cache", agent: "redis", tool: "infra.create", dependencies: [], params: { name: "shop-cache" } },
    { id: "deploy", agent: "deploy", tool: "infra.noop", dependencies: ["db", "cache"], params: { name: "shop", value: "${db.id}" } },
  ],
};
const FN = { name: "plan", description: "Submit the plan.", schema: { type: "object" } };

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const model = (s: OpenAIStub) => createChatModel({ name: "gpt-4o-mini", baseUrl: s.baseUrl, apiKey: "sk-test-not-real" }, { maxRetries: 0 });

describe("streamPlan (OpenAI-compatible stand-in streaming SSE)", () => {
  it("hands over each step while the reply is still streaming, and returns the whole reply with usage from the last chunk", async () => {
    // The stand-in keeps the stream open until the first two steps were handed over: were they handed
    // only at the end, the hold would last its full 10 s and `releasedBy` would say so.
    let release!: (by: string) => void;
    const held = new Promise<string>((resolve) => (release = resolve));
    stub = await startOpenAIStub([{ toolCalls: [{ name: "plan", arguments: PLAN }], usage: { prompt_tokens: 900, completion_tokens: 140 } }], {
      tokensPerSecond: 400,
      holdEnd: async () => void (await held),
    });
    const fallback = setTimeout(() => release("timeout"), 10_000);
    const seen: CompletedStep[] = [];
    const reply = await streamPlan(planModel(model(stub), "functionCalling", FN), [new HumanMessage("plan it")], undefined, {
      onStep: (step) => {
        seen.push(step);
        if (step.index === 1) release("step");
      },
    });
    clearTimeout(fallback);
    expect(await held).toBe("step");
    expect(stub.requests[0]!.body["stream"]).toBe(true);
    expect(stub.requests[0]!.body["stream_options"]).toEqual({ include_usage: true });
    expect(stub.requests[0]!.body["tool_choice"]).toEqual({ type: "function", function: { name: "plan" } });
    expect(seen.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(seen.map((s) => (s.step as { id: string }).id)).toEqual(["db", "cache", "deploy"]);
    expect(seen[0]!.plan).toMatchObject({ name: "Shop stack", steps: [PLAN.steps[0]] });
    expect(reply.tool_calls?.[0]?.args).toEqual(PLAN);
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 900, output_tokens: 140 });
  });

  it("hands over the last step at its closing brace, before the stream ends", async () => {
    // The stand-in holds its last chunk until the last step was handed over: handed only when the
    // stream ends (the old rule: a step is complete when the next begins), the hold would time out.
    let release!: (by: string) => void;
    const held = new Promise<string>((resolve) => (release = resolve));
    // The fallback counts from the hold (not from the request): 3 s for the last step to be handed over.
    const holdEnd = async (): Promise<void> => {
      const fallback = setTimeout(() => release("stream end"), 3_000);
      await held;
      clearTimeout(fallback);
    };
    stub = await startOpenAIStub([{ toolCalls: [{ name: "plan", arguments: PLAN }] }], { tokensPerSecond: 1000, holdEnd });
    const ids: string[] = [];
    await streamPlan(planModel(model(stub), "functionCalling", FN), [new HumanMessage("plan it")], undefined, {
      onStep: ({ index, step }) => {
        ids.push((step as { id: string }).id);
        if (index === PLAN.steps.length - 1) release("closing brace");
      },
    });
    expect(await held).toBe("closing brace");
    expect(ids).toEqual(["db", "cache", "deploy"]);
  });

  it("counts a step complete at its own closing brace, never at a brace inside a string or a nested object", () => {
    const text = JSON.stringify({ name: "p", params: { x: "}" }, steps: [{ id: "a", params: { v: "{}}" , n: { m: 1 } } }, { id: "b", params: {} }] });
    const at = (fragment: string, from = 0): number => text.indexOf(fragment, from) + fragment.length;
    expect(closedSteps(text.slice(0, at('"v":"{}}"')))).toBe(0);
    expect(closedSteps(text.slice(0, at('"m":1}')))).toBe(0);
    expect(closedSteps(text.slice(0, at('"m":1}}}')))).toBe(1);
    expect(closedSteps(text.slice(0, at('"id":"b"')))).toBe(1);
    expect(closedSteps(text.slice(0, at('"params":{}}', at('"id":"b"'))))).toBe(2);
    expect(closedSteps(text)).toBe(2);
    // A key named "steps" inside a step is not the plan's steps.
    expect(closedSteps(JSON.stringify({ steps: [{ id: "a", params: { steps: [{ x: 1 }] } }] }))).toBe(1);
    expect(closedSteps('{"name":"steps","other":[{"a":1}]')).toBe(0);
  });

  it("streams JSON content (jsonSchema mode) with a strict response format, and counts o200k tokens when asked", async () => {
    stub = await startOpenAIStub([{ content: JSON.stringify(PLAN) }], { tokensPerSecond: 2000, countTokens: true });
    const ids: string[] = [];
    const closed = { ...FN, schema: { type: "object", properties: {}, required: [], additionalProperties: false } };
    const reply = await streamPlan(planModel(model(stub), "jsonSchema", closed), [new HumanMessage("plan it")], undefined, {
      onStep: ({ step }) => ids.push((step as { id: string }).id),
    });
    expect(ids).toEqual(["db", "cache", "deploy"]);
    expect(stub.requests[0]!.body["response_format"]).toEqual({ type: "json_schema", json_schema: { name: "plan", description: "Submit the plan.", schema: closed.schema, strict: true } });
    expect(reply.usage_metadata?.output_tokens).toBe(countTokens(JSON.stringify(PLAN)));
    expect(reply.usage_metadata?.input_tokens).toBe(countTokens("plan it") + countTokens(JSON.stringify(stub.requests[0]!.body["response_format"])));
  });
});

describe("checkArrivedStep", () => {
  const tools = infraCaller().tools;
  const arriving = (...steps: unknown[]) => ({ name: "p", steps });

  it("accepts a step whose tool, params and references to earlier steps are valid", () => {
    expect(checkArrivedStep(arriving(PLAN.steps[0], PLAN.steps[1], PLAN.steps[2]), 2, { tools })).toEqual({ status: "ok", problems: [] });
  });

  it("rejects at once what no later step can fix: unknown tool, bad params, a duplicate id, a bad schema", () => {
    const unknownTool = checkArrivedStep(arriving({ id: "a", tool: "infra.nope", params: {} }), 0, { tools });
    expect(unknownTool.status).toBe("invalid");
    expect(unknownTool.problems[0]).toMatchObject({ step: "a", field: "tool" });
    const badParams = checkArrivedStep(arriving({ id: "a", tool: "infra.create", params: { nam: "x" } }), 0, { tools });
    expect(badParams).toMatchObject({ status: "invalid" });
    expect(badParams.problems.map((p) => p.message)).toContain('missing required field "name"');
    const duplicate = checkArrivedStep(arriving(PLAN.steps[0], { ...PLAN.steps[1], id: "db" }), 1, { tools });
    expect(duplicate.status).toBe("invalid");
    expect(duplicate.problems[0]!.message).toContain('duplicate step id "db"');
    const schema = checkArrivedStep(arriving({ id: "a b", tool: "infra.create", params: { name: "x" } }), 0, { tools });
    expect(schema.status).toBe("invalid");
  });

  it("lets a step that names a step not arrived yet wait, without judging it", () => {
    const dep = checkArrivedStep(arriving({ ...PLAN.steps[2], dependencies: ["db"], params: { name: "shop" } }), 0, { tools });
    expect(dep.status).toBe("waiting");
    expect(dep.problems[0]!.message).toBe('unknown step "db"');
    const ref = checkArrivedStep(arriving({ id: "deploy", tool: "infra.noop", params: { name: "x", value: "${db.id}" } }), 0, { tools });
    expect(ref.status).toBe("waiting");
  });

  it("judges only the new step: an earlier step's waiting problem is not the new step's", () => {
    const plan = arriving({ ...PLAN.steps[2], params: { name: "shop" } }, PLAN.steps[0]);
    expect(checkArrivedStep(plan, 1, { tools })).toEqual({ status: "ok", problems: [] });
  });
});

describe("the architect streams its plan", () => {
  const env = (s: OpenAIStub) => ({ OPENAI_BASE_URL: s.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" });
  const script = (...plans: unknown[]) => {
    let call = 0;
    return (request: StubRequest): StubReply => {
      if (!Array.isArray(request.body["tools"])) return { content: "done", usage: { prompt_tokens: 10, completion_tokens: 2 } };
      return { toolCalls: [{ name: "plan", arguments: plans[Math.min(call++, plans.length - 1)] }], usage: { prompt_tokens: 700, completion_tokens: 120 } };
    };
  };

  it("records each step as it arrived, with the verdict it had then, and sends stream: true", async () => {
    stub = await startOpenAIStub(script(PLAN), { tokensPerSecond: 1000 });
    const base = testDeps(infraCaller(), {}, env(stub));
    const graph = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
    const events: unknown[] = [];
    let final: RunState | undefined;
    for await (const [mode, chunk] of await graph.stream({ request: "Set up the shop" }, { configurable: { thread_id: "s1" }, streamMode: ["custom", "values"] })) {
      if (mode === "custom") events.push(chunk);
      else final = chunk as RunState;
    }
    expect(stub.requests.find((r) => Array.isArray(r.body["tools"]))!.body["stream"]).toBe(true);
    const streamed = final!.report!.planner!.streamed!;
    expect(streamed.map((s) => [s.id, s.status])).toEqual([["db", "ok"], ["cache", "ok"], ["deploy", "ok"]]);
    expect(streamed[0]!.atMs).toBeLessThanOrEqual(streamed[2]!.atMs);
    // Events go out as steps arrive; whether each started is known (and kept) once decided.
    expect(events).toEqual(streamed.map(({ started: _started, held: _held, ...s }) => ({ kind: "plan_step", attempt: 1, ...s, tool: PLAN.steps.find((p) => p.id === s.id)!.tool })));
    expect(streamed.map((s) => s.started)).toEqual([true, true, true]);
    expect(final!.report!.status).toBe("succeeded");
    expect(final!.report!.usage.filter((u) => u.agent === "architect")).toEqual([expect.objectContaining({ input_tokens: 700, output_tokens: 120 })]);
  });

  it("flags an invalid step while it streams, then repairs; streamPlans: false asks without streaming", async () => {
    const broken = { ...PLAN, steps: [{ ...PLAN.steps[0], tool: "infra.nope" }, ...PLAN.steps.slice(1)] };
    stub = await startOpenAIStub(script(broken, PLAN), { tokensPerSecond: 2000 });
    const base = testDeps(infraCaller(), {}, env(stub));
    const graph = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
    const events: { attempt: number; id: string; status: string }[] = [];
    for await (const chunk of await graph.stream({ request: "Set up the shop" }, { configurable: { thread_id: "s2" }, streamMode: "custom" })) events.push(chunk as never);
    expect(events.filter((e) => e.attempt === 1).map((e) => [e.id, e.status])).toEqual([["db", "invalid"], ["cache", "ok"], ["deploy", "ok"]]);
    expect(events.filter((e) => e.attempt === 2).map((e) => e.status)).toEqual(["ok", "ok", "ok"]);

    await stub.close();
    stub = await startOpenAIStub(script(PLAN));
    const base2 = testDeps(infraCaller(), {}, env(stub));
    const plain = compileOrchestrator({ ...base2, streamPlans: false, chatModel: configuredChatModel(base2.config, { routing: {} }, 0) }, new MemorySaver());
    const final = (await plain.invoke({ request: "Set up the shop" }, { configurable: { thread_id: "s3" } })) as RunState;
    expect(stub.requests.find((r) => Array.isArray(r.body["tools"]))!.body["stream"]).toBe(false);
    expect(final.report?.planner?.streamed).toBeUndefined();
    expect(final.report?.status).toBe("succeeded");
  });

  it("sends only the tools the request names, and shows a tool the plan used but was not sent when it repairs", async () => {
    const bad = { name: "p", steps: [{ id: "a", tool: "infra.create", dependencies: [], params: { nam: "x" } }, { id: "b", tool: "infra.noop", dependencies: [], params: { name: "y" } }] };
    const good = { name: "p", steps: [{ id: "a", tool: "infra.create", dependencies: [], params: { name: "x" } }, { id: "b", tool: "infra.noop", dependencies: [], params: { name: "y" } }] };
    stub = await startOpenAIStub(script(bad, good));
    const base = testDeps(infraCaller(), {}, env(stub));
    const graph = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
    const final = (await graph.invoke({ request: "noop the shop" }, { configurable: { thread_id: "s4" } })) as RunState;
    expect(final.report?.planner).toMatchObject({ kind: "model", attempts: 2 });
    const [first, second] = stub.requests.filter((r) => Array.isArray(r.body["tools"])).map((r) => r.body["messages"] as { role: string; content: string }[]);
    const firstUser = first!.at(-1)!.content;
    expect(firstUser).toContain("infra.noop(");
    expect(firstUser).not.toContain("infra.create(");
    const repair = second!.at(-1)!.content;
    expect(repair).toContain('missing required field \\"name\\"');
    expect(repair).toMatch(/Tools the plan names that were not in the list:\n<tools>\ninfra\.create\(name: string, value\?: any\)/);
  });
});
