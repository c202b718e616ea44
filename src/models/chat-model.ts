import { ChatOpenAI } from "@langchain/openai";
import type { AppConfig } from "../config.ts";

export type ModelConfig = NonNullable<AppConfig["model"]>;

export interface ChatModelOptions {
  /** Retries of a failed request inside the OpenAI client (default 2; tests use 0). */
  maxRetries?: number;
  temperature?: number;
  /** Request timeout (default 120 s). */
  timeoutMs?: number;
  /**
   * Stream every completion. Off by default: ChatOpenAI's `invoke` with `streaming: true` estimates
   * tokens with tiktoken, which downloads its encoding (hangs offline). Streaming still happens when
   * the caller streams (`.stream()`, as the architect does, or LangGraph `streamMode: "messages"`),
   * with usage from the last chunk.
   */
  streaming?: boolean;
}

/** Servers such as Ollama or vLLM need no key, but the OpenAI client insists on one. */
const NO_KEY = "not-needed";

/** A ChatOpenAI for any OpenAI-compatible endpoint: OpenAI, Ollama, vLLM, LM Studio. */
export function createChatModel(model: ModelConfig, options: ChatModelOptions = {}): ChatOpenAI {
  return new ChatOpenAI({
    model: model.name,
    apiKey: model.apiKey ?? NO_KEY,
    configuration: model.baseUrl ? { baseURL: model.baseUrl } : undefined,
    maxRetries: options.maxRetries ?? 2,
    temperature: options.temperature ?? 0,
    timeout: options.timeoutMs ?? 120_000,
    // `streaming: false` given explicitly makes ChatOpenAI set disableStreaming, and then even
    // `.stream()` sends one unstreamed request: leave it unset unless streaming every call is asked for.
    ...(options.streaming ? { streaming: true } : {}),
    streamUsage: true,
  });
}
