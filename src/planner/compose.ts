import type { PlanInput } from "../plan/schema.ts";

/**
 * Several templates' plans as one: side by side, so independent jobs run in parallel. Step ids get
 * the template's short name in front (`neon_create_project`, `upstash_create_redis`) so they stay
 * unique and say where they came from; a plan parameter two parts set differently is renamed the
 * same way. References (`${step.field}`, `${param}`) and dependencies are rewritten to match.
 */
export interface PlanPart {
  workflow: string;
  plan: PlanInput;
}

const REF = /\$\{([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z0-9_-]+)*)\}/g;

export function composePlans(parts: readonly PlanPart[], name?: string): PlanInput {
  if (parts.length === 1) return parts[0]!.plan;
  const prefixes = prefixesOf(parts.map((p) => p.workflow));
  const params: Record<string, unknown> = {};
  const owner = new Map<string, unknown>();
  for (const part of parts) for (const [k, v] of Object.entries(part.plan.params ?? {})) if (!owner.has(k)) owner.set(k, v);
  const steps = parts.flatMap((part, i) => {
    const prefix = prefixes[i]!;
    const stepIds = new Set(part.plan.steps.map((s) => s.id));
    const renamed = new Map<string, string>();
    for (const [k, v] of Object.entries(part.plan.params ?? {})) {
      const shared = JSON.stringify(owner.get(k)) === JSON.stringify(v);
      const key = shared ? k : `${prefix}_${k}`;
      renamed.set(k, key);
      params[key] = v;
    }
    const rewrite = (value: unknown): unknown => {
      if (typeof value === "string") {
        return value.replace(REF, (ref, root: string, path: string) =>
          stepIds.has(root) ? `\${${prefix}_${root}${path}}` : renamed.has(root) && path === "" ? `\${${renamed.get(root)}}` : ref,
        );
      }
      if (Array.isArray(value)) return value.map(rewrite);
      if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
      return value;
    };
    return part.plan.steps.map((step) => ({
      ...step,
      id: `${prefix}_${step.id}`,
      dependencies: (step.dependencies ?? []).map((d) => (stepIds.has(d) ? `${prefix}_${d}` : d)),
      params: rewrite(step.params ?? {}) as Record<string, unknown>,
      ...(step.rollback ? { rollback: { ...step.rollback, params: rewrite(step.rollback.params ?? {}) as Record<string, unknown> } } : {}),
    }));
  });
  return {
    name: name ?? parts.map((p) => p.plan.name).join(" + "),
    description: `Composed of ${parts.map((p) => p.workflow).join(", ")}, side by side`,
    params,
    steps,
  };
}

/** The template's first word ("neon" of neon-full-setup), or more of its id where two parts would share one. */
function prefixesOf(ids: readonly string[]): string[] {
  const first = ids.map((id) => id.split("-")[0]!);
  return ids.map((id, i) => {
    const clash = first.filter((f) => f === first[i]).length > 1;
    const base = clash ? id.replace(/-/g, "_") : first[i]!;
    const same = ids.slice(0, i).filter((x) => x === id).length;
    return same > 0 ? `${base}${same + 1}` : base;
  });
}
