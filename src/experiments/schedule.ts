/**
 * The order in which a job pool starts the runs that are ready: a run that many others wait on
 * goes before one that nothing waits on. Plan order alone put a seed's pre-training behind the
 * previous seed's downstream runs, so with 2 jobs the last seed's six downstream runs waited for
 * runs that could have shared the cores with its pre-training (fig5-controls at paper scale: about
 * 20 min a downstream run, an hour a pre-training).
 */
import type { RunSpec } from './recipe.js';

/** How many runs of the plan depend on each run, directly or through others. */
export function dependantCounts(plan: readonly Pick<RunSpec, 'id' | 'dependsOn'>[]): Map<string, number> {
  const dependants = new Map<string, string[]>();
  for (const spec of plan) {
    for (const dep of spec.dependsOn) {
      const list = dependants.get(dep) ?? [];
      list.push(spec.id);
      dependants.set(dep, list);
    }
  }
  const counts = new Map<string, number>();
  for (const spec of plan) {
    const seen = new Set<string>();
    const stack = [...(dependants.get(spec.id) ?? [])];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(dependants.get(id) ?? []));
    }
    counts.set(spec.id, seen.size);
  }
  return counts;
}

/**
 * The plan sorted so that runs with more dependants come first; runs with as many keep their plan
 * order (the sort is stable), so a plan without dependencies runs exactly in its own order.
 */
export function startOrder<T extends Pick<RunSpec, 'id' | 'dependsOn'>>(plan: readonly T[]): T[] {
  const counts = dependantCounts(plan);
  return [...plan].sort((a, b) => counts.get(b.id)! - counts.get(a.id)!);
}
