import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AgentModel, OrchestratorDeps } from "../../agents/deps.ts";
import type { AppConfig } from "../config.ts";
import { routeModel } from "../cost/routing.ts";
import type { CostSettings } from "../cost/settings.ts";
import { createChatModel } from "../models/chat-model.ts";

/** ChatOpenAI per agent call from the configured model and the routing table, or none without a model. */
export function configuredChatModel(config: AppConfig, settings: Pick<CostSettings, "routing">, maxRetries?: number): OrchestratorDeps["chatModel"] {
  const fallback = config.model;
  if (!fallback) return undefined;
  const cache = new Map<string, BaseChatModel>();
  return (agent, stepKind): AgentModel => {
    const route = routeModel(settings.routing, agent, stepKind, { model: fallback.name, baseUrl: fallback.baseUrl });
    const target = { ...fallback, name: route.model, baseUrl: route.baseUrl };
    const key = `${target.name}@${target.baseUrl ?? ""}`;
    if (!cache.has(key)) cache.set(key, createChatModel(target, { maxRetries }));
    return { model: cache.get(key)!, name: route.model, baseUrl: route.baseUrl, routedFrom: route.routedFrom };
  };
}
