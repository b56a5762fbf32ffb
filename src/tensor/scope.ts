/**
 * Where new tensors belong, and whether ops are recorded for autograd: the dynamic state that
 * `tidy`, `untracked` and `noGrad` set around a function.
 *
 * Tensors created inside `tidy(fn)` are disposed when fn returns (except what it returns), and
 * their buffers go back to the `bufferPool` — a training step then reuses the previous step's
 * memory. Outside any `tidy`, buffers are ordinary garbage-collected arrays.
 *
 * This file knows tensors only through `ScopedTensor`, so that tensor.ts, which asks here where
 * each new tensor belongs, imports it without an import cycle.
 */
/** Set on Tensor's prototype: how `tidy` recognises the tensors in fn's result. */
export const scopedTensorMark: unique symbol = Symbol('randlab.scopedTensor');

/** What a scope needs of a tensor. */
export interface ScopedTensor {
  readonly [scopedTensorMark]: true;
  /** The tensor whose buffer this one views, kept alive with it. */
  readonly base: ScopedTensor | null;
  dispose(): void;
}

// --- gradient mode ---------------------------------------------------------------------------

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording any op for autograd (evaluation, analysis, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

// --- scopes ----------------------------------------------------------------------------------

class Scope {
  readonly tensors: ScopedTensor[] = [];
  track(t: ScopedTensor): void {
    this.tensors.push(t);
  }
}

const scopes: Scope[] = [];

function currentScope(): Scope | null {
  return scopes.length === 0 ? null : scopes[scopes.length - 1]!;
}

/** Whether a `tidy` scope is open: new tensors then take pooled buffers and are disposed with it. */
export function inTidyScope(): boolean {
  return scopes.length > 0;
}

/** Called by every new tensor: the innermost open scope disposes it, unless its tidy returns it. */
export function trackInScope(t: ScopedTensor): void {
  currentScope()?.track(t);
}

function isScopedTensor(value: object): value is ScopedTensor {
  return scopedTensorMark in value;
}

/** Every tensor reachable from value through arrays and object fields (typed arrays are skipped). */
function collectTensors(value: unknown, into: Set<ScopedTensor>, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return;
  if (isScopedTensor(value)) {
    into.add(value);
    if (value.base) into.add(value.base);
  } else if (!seen.has(value)) {
    seen.add(value); // results may be objects that refer back to themselves (a module and its parent)
    for (const item of Array.isArray(value) ? value : Object.values(value)) collectTensors(item, into, seen);
  }
}

/**
 * Run fn and dispose every tensor it created, except the tensors in its result (which move to the
 * enclosing scope). Gradients written into leaves' `.grad` survive: they are created outside scopes.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<ScopedTensor>();
  collectTensors(result, kept);
  const parent = currentScope();
  for (const t of scope.tensors) {
    if (kept.has(t)) parent?.track(t);
    else t.dispose();
  }
  return result;
}

/** Run fn with tensors created outside any scope (persistent: parameters, optimiser state, leaf grads). */
export function untracked<T>(fn: () => T): T {
  const saved = scopes.splice(0, scopes.length);
  try {
    return fn();
  } finally {
    scopes.push(...saved);
  }
}
