/**
 * Graph algorithms over a plan's steps: topological order, cycles, levels, critical path.
 * `deps` maps every step id to the ids it depends on (all known ids).
 */
export type Deps = Record<string, readonly string[]>;

/** Kahn's algorithm, stable in the order ids are given. Returns undefined when there is a cycle. */
export function topologicalOrder(ids: readonly string[], deps: Deps): string[] | undefined {
  const indegree = new Map(ids.map((id) => [id, deps[id]?.length ?? 0]));
  const dependents = dependentsOf(ids, deps);
  const order: string[] = [];
  const ready = ids.filter((id) => indegree.get(id) === 0);
  for (let next = 0; next < ready.length; next++) {
    const id = ready[next]!;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return order.length === ids.length ? order : undefined;
}

/** One cycle, as a closed path `[a, b, c, a]` (a depends on b …), or undefined. */
export function findCycle(ids: readonly string[], deps: Deps): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, "visiting");
    stack.push(id);
    for (const dep of deps[id] ?? []) {
      if (state.get(dep) === "visiting") return [...stack.slice(stack.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const cycle = visit(dep);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of ids) {
    if (!state.has(id)) {
      const cycle = visit(id);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

/** Level-by-level grouping: level 0 has no dependencies, level n depends on level n−1 at most. */
export function levels(order: readonly string[], deps: Deps): string[][] {
  const levelOf = new Map<string, number>();
  const groups: string[][] = [];
  for (const id of order) {
    const level = Math.max(-1, ...(deps[id] ?? []).map((d) => levelOf.get(d)!)) + 1;
    levelOf.set(id, level);
    (groups[level] ??= []).push(id);
  }
  return groups;
}

export interface CriticalPath {
  ms: number;
  path: string[];
}

/** The longest chain of dependent steps by duration. */
export function criticalPath(order: readonly string[], deps: Deps, durationOf: (id: string) => number): CriticalPath {
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  let last: string | undefined;
  for (const id of order) {
    let start = 0;
    let from: string | undefined;
    for (const dep of deps[id] ?? []) {
      const f = finish.get(dep)!;
      if (from === undefined || f > start) {
        start = f;
        from = dep;
      }
    }
    const end = start + durationOf(id);
    finish.set(id, end);
    via.set(id, from);
    if (last === undefined || end > finish.get(last)!) last = id;
  }
  const path: string[] = [];
  for (let id = last; id !== undefined; id = via.get(id)) path.unshift(id);
  return { ms: last === undefined ? 0 : finish.get(last)!, path };
}

function dependentsOf(ids: readonly string[], deps: Deps): Map<string, string[]> {
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) for (const dep of deps[id] ?? []) dependents.get(dep)?.push(id);
  return dependents;
}
