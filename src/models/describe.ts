import type { AppConfig } from "../config.ts";

/**
 * `gpt-4o-mini` or `llama3 @ http://localhost:11434/v1`: how reports name the model. Apart from
 * chat-model.ts so naming a model does not load the OpenAI client.
 */
export function describeModel(model: Pick<NonNullable<AppConfig["model"]>, "name" | "baseUrl">): string {
  return model.baseUrl ? `${model.name} @ ${model.baseUrl}` : model.name;
}
