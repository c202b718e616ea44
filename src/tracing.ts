import type { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { LangChainTracer } from "@langchain/core/tracers/tracer_langchain";
import { Client } from "langsmith/client";
import type { AppConfig } from "./config.ts";
import type { Run } from "@langchain/core/tracers/base";
import { langsmithCost } from "./cost/callbacks.ts";
import { maskSecrets } from "./secrets.ts";
import { measuredCost } from "./cost/measured.ts";
import { DEFAULT_PRICING, priceUsage, type Pricing } from "./cost/pricing.ts";
import { tracingEnabled } from "./tracing-enabled.ts";

/**
 * LangSmith tracing with an explicit client: every model call and graph step is traced with the
 * agent, the step id, tokens and cost in USD (`input_cost`/`output_cost`/`total_cost` in the LLM
 * run's usage_metadata — LangSmith does not compute them for us), and secrets masked before upload.
 */
export interface Tracing {
  enabled: boolean;
  /** Pass in the `callbacks` of a graph invoke; empty when tracing is off. */
  callbacks: BaseCallbackHandler[];
  /** Sends what is pending; never waits longer than `timeoutMs`. Resolves true when everything was sent. */
  flush(timeoutMs?: number): Promise<boolean>;
}

export interface TracingOptions {
  pricing?: Pricing;
  /** Upload timeout per request, so an unreachable endpoint cannot keep the process alive (default 3 s). */
  requestTimeoutMs?: number;
}

export const DEFAULT_FLUSH_MS = 3000;
const SECRET_KEY = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|authorization|connection[_-]?(string|uri)|database_url|redis_url)$/i;
const SECRET_ENV = /(KEY|TOKEN|SECRET|PASSWORD|EMAIL)$/;

export { tracingEnabled };

/** Tracing per the LANGSMITH_* settings in config; a no-op when LANGSMITH_TRACING is not on. */
export function setupTracing(config: AppConfig, options: TracingOptions = {}): Tracing {
  if (!tracingEnabled(config)) return { enabled: false, callbacks: [], flush: async () => true };
  const known = knownSecrets(config);
  const mask = (values: Record<string, unknown>): Record<string, unknown> => maskValue(values, known) as Record<string, unknown>;
  const pricing = options.pricing ?? DEFAULT_PRICING;
  const client = new Client({
    apiUrl: config.env.LANGSMITH_ENDPOINT,
    apiKey: config.env.LANGSMITH_API_KEY,
    timeout_ms: options.requestTimeoutMs ?? DEFAULT_FLUSH_MS,
    callerOptions: { maxRetries: 0 },
    hideInputs: mask,
    hideOutputs: mask,
    hideMetadata: (metadata) => mask(annotate(metadata, pricing, config.model?.baseUrl)),
    anonymizer: mask,
  });
  const tracer = new CostTracer({ client, projectName: config.env.LANGSMITH_PROJECT ?? "credit-optimizer" }, pricing);
  return {
    enabled: true,
    callbacks: [tracer],
    flush: (timeoutMs = DEFAULT_FLUSH_MS) =>
      bounded(
        (async () => {
          await awaitAllCallbacks();
          await client.awaitPendingTraceBatches();
        })(),
        timeoutMs,
      ),
  };
}

/**
 * The LangChain tracer, plus tool costs: a step's run (`step:<id>`, `rollback:<id>`) or a tool run
 * whose tool reported a cost (`cost_usd`, or model usage priced by the table) carries it as
 * `usage_metadata.total_cost`, which LangSmith shows and sums per trace. LangSmith computes no cost
 * for runs that are not LLM runs, so without this every tool costs $0 there.
 */
class CostTracer extends LangChainTracer {
  constructor(
    fields: ConstructorParameters<typeof LangChainTracer>[0],
    private readonly pricing: Pricing,
  ) {
    super(fields);
  }

  override onChainEnd(run: Run): void {
    if (/^(step|rollback):/.test(run.name)) this.addToolCost(run);
  }

  override onToolEnd(run: Run): void {
    this.addToolCost(run);
  }

  private addToolCost(run: Run): void {
    const usage = toolRunUsage(run.outputs, this.pricing);
    if (!usage) return;
    run.extra = run.extra ?? {};
    const metadata = (run.extra["metadata"] ?? {}) as Record<string, unknown>;
    metadata["usage_metadata"] = usage;
    run.extra["metadata"] = metadata;
  }
}

/**
 * The `usage_metadata` of a tool or step run from what the tool returned: a step result's `output`,
 * a tool's JSON (also as the text of a ToolMessage). Undefined when it reported no cost.
 */
export function toolRunUsage(outputs: unknown, pricing: Pricing): Record<string, number> | undefined {
  for (const candidate of candidatesOf(outputs)) {
    const cost = measuredCost(candidate, pricing);
    if (!cost) continue;
    const call = cost.modelCall;
    const tokens: Record<string, number> = call ? { input_tokens: call.inputTokens, output_tokens: call.outputTokens, total_tokens: call.inputTokens + call.outputTokens } : {};
    return cost.known ? { ...tokens, total_cost: cost.usd } : tokens;
  }
  return undefined;
}

/** The objects a tool's cost report may be in, outermost first: outputs, `.output`, a step result's `.output`, JSON text. */
function candidatesOf(value: unknown, depth = 0): Record<string, unknown>[] {
  if (depth > 3) return [];
  if (typeof value === "string") {
    try {
      return candidatesOf(JSON.parse(value) as unknown, depth + 1);
    } catch {
      return [];
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  const record = value as Record<string, unknown>;
  const inner = [record["output"], record["content"], record["kwargs"]].flatMap((v) => candidatesOf(v, depth + 1));
  return [...inner, record];
}

/**
 * Adds what LangSmith shows per run: cost on LLM runs (from the tracer's usage_metadata and the
 * model name), the agent on its nodes' runs. Step runs carry their `step_id` / `rollback_of` themselves
 * (src/engine/step-journal.ts `traced`).
 */
export function annotate(metadata: Record<string, unknown>, pricing: Pricing, baseUrl?: string): Record<string, unknown> {
  const out = { ...metadata };
  const usage = metadata["usage_metadata"] as { input_tokens?: number; output_tokens?: number; input_token_details?: { cache_read?: number } } | undefined;
  const model = metadata["ls_model_name"];
  if (usage && typeof model === "string") {
    const tokens = { input_tokens: usage.input_tokens ?? 0, output_tokens: usage.output_tokens ?? 0, cached: usage.input_token_details?.cache_read ?? 0 };
    const price = priceUsage(pricing, model, tokens, baseUrl);
    const cost = langsmithCost({ inputTokens: tokens.input_tokens, outputTokens: tokens.output_tokens, inputCost: price.input_cost, outputCost: price.output_cost, known: price.known });
    out["usage_metadata"] = { ...usage, ...cost };
    if (price.known) Object.assign(out, { input_cost: cost["input_cost"], output_cost: cost["output_cost"], total_cost: cost["total_cost"] });
  }
  const node = metadata["langgraph_node"];
  if (typeof node === "string" && out["agent"] === undefined && ["architect", "credit_validator", "reporter"].includes(node)) out["agent"] = node.replace("_", "-");
  return out;
}

/** Secret-looking fields become "***"; URL passwords, API-key-like tokens and configured secrets are masked in text. */
export function maskValue(value: unknown, known: readonly string[] = [], key?: string): unknown {
  if (typeof value === "string") {
    if (key !== undefined && SECRET_KEY.test(key) && value !== "" && !value.startsWith("secret://")) return "***";
    let text = maskSecrets(value);
    for (const secret of known) if (secret.length >= 6) text = text.split(secret).join("***");
    return text;
  }
  if (Array.isArray(value)) return value.map((v) => maskValue(v, known, key));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskValue(v, known, k)]));
  }
  return value;
}

/** Values of configured credentials (API keys, tokens), masked wherever they appear. */
export function knownSecrets(config: AppConfig): string[] {
  return Object.entries(config.env)
    .filter(([k, v]) => typeof v === "string" && SECRET_ENV.test(k) && k !== "CREDIT_OPTIMIZER_SECRET_KEY")
    .map(([, v]) => v as string)
    .concat(config.env.CREDIT_OPTIMIZER_SECRET_KEY ? [config.env.CREDIT_OPTIMIZER_SECRET_KEY] : []);
}

/**
 * For a CLI about to exit: flush within `timeoutMs`; when that fails (endpoint down), uploads still
 * retrying in the background must not keep the process alive, so it exits (with the exit code the
 * command set) shortly after the command returns.
 */
export async function flushBeforeExit(tracing: Tracing, timeoutMs = DEFAULT_FLUSH_MS, graceMs = 250): Promise<boolean> {
  const sent = await tracing.flush(timeoutMs);
  if (!sent) setTimeout(() => process.exit(), graceMs).unref();
  return sent;
}

async function bounded(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
