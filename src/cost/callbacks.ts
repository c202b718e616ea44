import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { CostError } from "./errors.ts";
import type { Ledger, ModelCallRecord } from "./ledger.ts";
import { priceUsage, type Pricing } from "./pricing.ts";
import { sum } from "./stats.ts";

/** Run metadata keys the handler reads (set them with `.withConfig({ metadata })` or per invoke). */
export const COST_METADATA = {
  /** The agent making the call. Falls back to a `agent:<name>` tag, then `langgraph_node`. */
  agent: "agent",
  /** The ledger run id. Falls back to the handler's `runId`, then `thread_id`. */
  runId: "cost_run_id",
  /** The default model this call was routed away from (for routing savings). */
  routedFrom: "routed_from",
} as const;

/** A recorded call with its cost split, as LangSmith wants it. */
export interface CostedCall extends ModelCallRecord {
  inputCost: number;
  outputCost: number;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  usd: number;
  /** Models used without a price (their USD is counted as 0). */
  unknownModels: string[];
}

export interface CostTotals extends UsageTotals {
  byAgent: Record<string, UsageTotals>;
}

export interface CostCallbackOptions {
  pricing: Pricing;
  /** Where calls are recorded; without one they are only totalled in memory. */
  ledger?: Ledger;
  /** The ledger run id for calls whose metadata names none. */
  runId?: string;
  /** The agent for calls whose metadata and tags name none. */
  agent?: string;
  /** Told about every call as it is recorded (e.g. to feed a budget guard or a progress line). */
  onCall?: (call: CostedCall) => void;
  now?: () => number;
}

interface Started {
  agent: string;
  runId: string;
  model?: string;
  baseUrl?: string;
  routedFrom?: string;
}

/**
 * Reads token usage from every chat-model call, streamed or not (`usage_metadata` on the message,
 * else `llmOutput.tokenUsage`), prices it, records it in the ledger and keeps in-memory totals per
 * run and agent. Pass it in `callbacks` of the model or of the graph invoke. Handlers are awaited,
 * so the record is written before the model call returns.
 */
export class CostCallbackHandler extends BaseCallbackHandler {
  override name = "cost-tracker";
  /** The default ledger run id; may be set once the run id is known. */
  runId: string | undefined;
  private readonly started = new Map<string, Started>();
  private readonly recorded: CostedCall[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly failures: Error[] = [];

  constructor(private readonly options: CostCallbackOptions) {
    super({ _awaitHandler: true });
    this.runId = options.runId;
  }

  override handleChatModelStart(
    llm: Serialized,
    _messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    this.started.set(runId, this.startOf(llm, extraParams, tags, metadata));
  }

  override handleLLMStart(
    llm: Serialized,
    _prompts: string[],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    this.started.set(runId, this.startOf(llm, extraParams, tags, metadata));
  }

  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const start = this.started.get(runId) ?? { agent: this.options.agent ?? "unknown", runId: this.runId ?? "unknown" };
    this.started.delete(runId);
    const usage = usageOf(output);
    if (!usage) return;
    const model = modelOf(output) ?? start.model ?? "unknown";
    const price = priceUsage(this.options.pricing, model, { input_tokens: usage.input, output_tokens: usage.output, cached: usage.cached }, start.baseUrl);
    const call: CostedCall = {
      runId: start.runId,
      agent: start.agent,
      model,
      inputTokens: usage.input,
      outputTokens: usage.output,
      cachedTokens: usage.cached,
      usd: price.usd,
      known: price.known,
      at: (this.options.now ?? Date.now)(),
      inputCost: price.input_cost,
      outputCost: price.output_cost,
    };
    if (start.routedFrom !== undefined) call.routedFrom = start.routedFrom;
    this.recorded.push(call);
    this.options.onCall?.(call);
    if (this.options.ledger) await this.track(this.options.ledger.recordModelCall(toRecord(call)));
  }

  override handleLLMError(_error: unknown, runId: string): void {
    this.started.delete(runId);
  }

  /** Every call recorded so far (optionally of one run). */
  calls(runId?: string): CostedCall[] {
    return this.recorded.filter((c) => runId === undefined || c.runId === runId);
  }

  /** Totals (optionally of one run), overall and per agent. */
  totals(runId?: string): CostTotals {
    const calls = this.calls(runId);
    const byAgent: Record<string, UsageTotals> = {};
    for (const agent of new Set(calls.map((c) => c.agent))) byAgent[agent] = totalsOf(calls.filter((c) => c.agent === agent));
    return { ...totalsOf(calls), byAgent };
  }

  /** Waits for ledger writes still in flight; rejects with a CostError if any failed. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
    if (this.failures.length > 0) {
      throw new CostError("LEDGER", `${this.failures.length} model call(s) were not recorded in the ledger: ${this.failures[0]!.message}`);
    }
  }

  private async track(write: Promise<void>): Promise<void> {
    const tracked = write.catch((error: unknown) => {
      this.failures.push(error instanceof Error ? error : new Error(String(error)));
    });
    this.pending.add(tracked);
    await tracked;
    this.pending.delete(tracked);
  }

  private startOf(llm: Serialized, extraParams?: Record<string, unknown>, tags?: string[], metadata?: Record<string, unknown>): Started {
    const meta = metadata ?? {};
    const tagAgent = tags?.find((t) => t.startsWith("agent:"))?.slice("agent:".length);
    const invocation = extraParams?.["invocation_params"] as Record<string, unknown> | undefined;
    const kwargs = (llm as { kwargs?: Record<string, unknown> }).kwargs;
    const started: Started = {
      agent: str(meta[COST_METADATA.agent]) ?? tagAgent ?? str(meta["langgraph_node"]) ?? this.options.agent ?? "unknown",
      runId: str(meta[COST_METADATA.runId]) ?? this.runId ?? str(meta["thread_id"]) ?? "unknown",
    };
    const model = str(invocation?.["model"]) ?? str(invocation?.["model_name"]) ?? str(meta["ls_model_name"]);
    if (model !== undefined) started.model = model;
    const baseUrl = str((kwargs?.["configuration"] as Record<string, unknown> | undefined)?.["baseURL"]);
    if (baseUrl !== undefined) started.baseUrl = baseUrl;
    const routedFrom = str(meta[COST_METADATA.routedFrom]);
    if (routedFrom !== undefined) started.routedFrom = routedFrom;
    return started;
  }
}

/** The cost fields LangSmith shows for a run, for its `usage_metadata` / metadata. */
export function langsmithCost(call: Pick<CostedCall, "inputTokens" | "outputTokens" | "inputCost" | "outputCost" | "known">): Record<string, number> {
  const tokens = { input_tokens: call.inputTokens, output_tokens: call.outputTokens, total_tokens: call.inputTokens + call.outputTokens };
  if (!call.known) return tokens;
  return { ...tokens, input_cost: call.inputCost, output_cost: call.outputCost, total_cost: call.inputCost + call.outputCost };
}

/** Summed token usage of every generation of a result; undefined when the provider reported none. */
export function usageOf(output: LLMResult): { input: number; output: number; cached: number } | undefined {
  const metas = output.generations
    .flat()
    .map((g) => (g as { message?: { usage_metadata?: UsageMetadataLike } }).message?.usage_metadata)
    .filter((u): u is UsageMetadataLike => u !== undefined);
  if (metas.length > 0) {
    return {
      input: sum(metas.map((u) => u.input_tokens ?? 0)),
      output: sum(metas.map((u) => u.output_tokens ?? 0)),
      cached: sum(metas.map((u) => u.input_token_details?.cache_read ?? 0)),
    };
  }
  const tokenUsage = output.llmOutput?.["tokenUsage"] as { promptTokens?: number; completionTokens?: number } | undefined;
  if (tokenUsage && (tokenUsage.promptTokens !== undefined || tokenUsage.completionTokens !== undefined)) {
    return { input: tokenUsage.promptTokens ?? 0, output: tokenUsage.completionTokens ?? 0, cached: 0 };
  }
  return undefined;
}

interface UsageMetadataLike {
  input_tokens?: number;
  output_tokens?: number;
  input_token_details?: { cache_read?: number };
}

function modelOf(output: LLMResult): string | undefined {
  for (const g of output.generations.flat()) {
    const meta = (g as { message?: { response_metadata?: Record<string, unknown> } }).message?.response_metadata;
    const name = str(meta?.["model_name"]) ?? str(meta?.["model"]);
    if (name) return name;
  }
  return str(output.llmOutput?.["model_name"]);
}

function totalsOf(calls: readonly CostedCall[]): UsageTotals {
  return {
    calls: calls.length,
    inputTokens: sum(calls.map((c) => c.inputTokens)),
    outputTokens: sum(calls.map((c) => c.outputTokens)),
    cachedTokens: sum(calls.map((c) => c.cachedTokens)),
    usd: sum(calls.map((c) => c.usd)),
    unknownModels: [...new Set(calls.filter((c) => !c.known).map((c) => c.model))],
  };
}

function toRecord(call: CostedCall): ModelCallRecord {
  const { inputCost: _inputCost, outputCost: _outputCost, ...record } = call;
  return record;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
