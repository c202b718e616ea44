import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import type { Runnable, RunnableConfig } from "@langchain/core/runnables";
import { parsePartialJson } from "@langchain/core/output_parsers";

/** How the model is asked for the plan (the same three methods as `withStructuredOutput`). */
export type PlanMethod = "functionCalling" | "jsonMode" | "jsonSchema";

export interface PlanFunction {
  name: string;
  description: string;
  /** The plan's JSON schema. */
  schema: Record<string, unknown>;
}

/**
 * The chat model bound to answer with a plan, in the shape `withStructuredOutput` sends: a forced
 * function call, a strict `json_schema` response format, or `json_object`. Bound by hand rather than
 * through `withStructuredOutput` because its pipeline only yields the parsed plan at the end, and the
 * architect reads the reply while it streams.
 */
export function planModel(model: BaseChatModel, method: PlanMethod, fn: PlanFunction): Runnable<BaseMessage[], AIMessageChunk> {
  if (method === "jsonMode") return model.withConfig({ response_format: { type: "json_object" } } as Partial<RunnableConfig>) as Runnable<BaseMessage[], AIMessageChunk>;
  if (method === "jsonSchema") {
    const format = { type: "json_schema", json_schema: { name: fn.name, description: fn.description, schema: fn.schema, strict: true } };
    return model.withConfig({ response_format: format } as Partial<RunnableConfig>) as Runnable<BaseMessage[], AIMessageChunk>;
  }
  if (typeof model.bindTools !== "function") throw new Error("the chat model does not support tool calling (set the structured output method to jsonSchema or jsonMode)");
  return model.bindTools([{ type: "function", function: { name: fn.name, description: fn.description, parameters: fn.schema } }], {
    tool_choice: { type: "function", function: { name: fn.name } },
  }) as Runnable<BaseMessage[], AIMessageChunk>;
}

/** What the reply holds so far: the plan function's arguments, or the JSON text of the content. */
export function replyText(message: AIMessageChunk): string {
  const call = message.tool_call_chunks?.[0];
  if (call) return call.args ?? "";
  const content = message.content;
  const text = typeof content === "string" ? content : content.map((c) => ("text" in c ? String(c.text) : "")).join("");
  return text.replace(/^\s*```(?:json)?\s*/, "");
}

/** A step of the plan whose JSON is complete, with what came before it in the plan. */
export interface CompletedStep {
  index: number;
  step: unknown;
  /** The plan as far as it has arrived: its top-level fields and the steps up to this one. */
  plan: Record<string, unknown>;
  /** Milliseconds since the request was sent. */
  atMs: number;
}

export interface StreamPlanOptions {
  /** Told about each step the moment its JSON is complete, in plan order. */
  onStep?(step: CompletedStep): void;
  now?(): number;
}

/**
 * Streams the model's plan and hands each step over as soon as it is complete. The arguments are
 * re-parsed with LangChain's partial-JSON parser (the one that fills `tool_call_chunks` into
 * `tool_calls`) on every chunk: step N is complete at its own closing brace (`closedSteps`), not when
 * step N+1 begins, so the last step does not wait for the stream to end.
 * Why the streamed function call rather than one step per line: the provider still constrains the
 * reply to the plan schema (function calling, strict json_schema), so a streamed plan is the same
 * plan as an unstreamed one, and every structured-output method keeps working.
 * Returns the whole reply (usage from the last chunk).
 */
export async function streamPlan(
  model: Runnable<BaseMessage[], AIMessageChunk>,
  messages: BaseMessage[],
  config: RunnableConfig | undefined,
  options: StreamPlanOptions = {},
): Promise<AIMessageChunk> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  let reply: AIMessageChunk | undefined;
  let handed = 0;
  let lastLength = 0;
  const handOver = (final: boolean): void => {
    if (!reply || !options.onStep) return;
    const text = replyText(reply);
    if (!final && text.length === lastLength) return;
    lastLength = text.length;
    const parsed: unknown = parsePartialJson(text);
    if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { steps?: unknown }).steps)) return;
    const steps = (parsed as { steps: unknown[] }).steps;
    const complete = final ? steps.length : Math.min(steps.length, closedSteps(text));
    for (; handed < complete; handed++) {
      options.onStep({ index: handed, step: steps[handed], plan: { ...(parsed as Record<string, unknown>), steps: steps.slice(0, handed + 1) }, atMs: now() - started });
    }
  };
  for await (const chunk of await model.stream(messages, config)) {
    reply = reply ? reply.concat(chunk) : chunk;
    handOver(false);
  }
  if (!reply) throw new Error("the model's stream ended without a reply");
  handOver(true);
  return reply;
}

/**
 * How many elements of the top-level `steps` array are closed in `text` (a prefix of the plan's JSON):
 * a step counts at its own closing brace. Brackets inside strings do not count, so a brace in a param
 * value (or in a strict reply's JSON-encoded params) cannot complete a step early.
 */
export function closedSteps(text: string): number {
  // Open containers: "{", "[", and "s" for the top-level object's `steps` array.
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  let lastKey = "";
  let closed = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') {
        inString = false;
        if (stack.length === 1) lastKey = text.slice(stringStart + 1, i);
      }
      continue;
    }
    if (c === '"') {
      inString = true;
      stringStart = i;
    } else if (c === "{") stack.push("{");
    else if (c === "[") stack.push(stack.length === 1 && stack[0] === "{" && lastKey === "steps" ? "s" : "[");
    else if (c === "}" || c === "]") {
      stack.pop();
      if (c === "}" && stack.length === 2 && stack[1] === "s") closed++;
    }
  }
  return closed;
}
