/**
 * Tensors and reverse-mode autograd.
 *
 * A Tensor is a dense row-major float32 (or int32, for labels) array with a shape. Ops build their
 * output and, when gradients are being recorded and an input requires them, attach a `GradFn`:
 * the inputs and a closure mapping the output's gradient to the inputs' gradients. `backward`
 * sorts that graph and runs the closures in reverse (micrograd's design, on typed arrays).
 *
 * Memory: tensors created inside `tidy(fn)` are disposed when fn returns (except what it
 * returns), and their buffers go back to the `bufferPool` — a training step then reuses the
 * previous step's memory. Outside any `tidy`, buffers are ordinary garbage-collected arrays.
 */
import { getKernels } from '../kernels/index.js';
import type { SgdParams } from '../kernels/interface.js';
import { bufferPool } from './pool.js';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];

/** Backward rule of one recorded op: given ∂L/∂output, return ∂L/∂input for each input
 *  (null where an input needs none). Returned buffers become the engine's: they must not be
 *  written by the op afterwards; returning the same buffer for two inputs is allowed.
 *  `writable`: nothing else holds gradOutput, so the rule may overwrite it (element-wise rules
 *  compute ∂L/∂input in place and return gradOutput itself, saving a buffer and a pass's writes
 *  to fresh memory). */
export interface GradFn {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  backward(gradOutput: Float32Array, writable: boolean): ReadonlyArray<Float32Array | null>;
}

export type GradHook = (grad: Float32Array, tensor: Tensor) => void;

let nextTensorId = 0;

export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

function checkShape(shape: Shape, where: string): void {
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0)
      throw new Error(`${where}: invalid shape ${formatShape(shape)}: dimensions must be non-negative integers`);
  }
}

export class Tensor {
  readonly id = nextTensorId++;
  readonly shape: Shape;
  readonly size: number;
  readonly dtype: DType;
  /** The tensor whose buffer this one views (reshape, detach), or null if it owns its buffer. */
  readonly base: Tensor | null;
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: GradFn | null = null;
  /** Optional label used in error messages and hooks (e.g. a parameter's state_dict key). */
  name: string | undefined;
  private buffer: Float32Array | Int32Array;
  private fromPool: boolean;
  private disposed = false;
  /** The values are all zero but not written yet (see `zeroLazily`). */
  private zeroPending = false;
  private gradHooks: GradHook[] = [];

  constructor(
    data: Float32Array | Int32Array,
    shape: Shape,
    options: { base?: Tensor | null; fromPool?: boolean; name?: string } = {},
  ) {
    checkShape(shape, options.name ?? 'Tensor');
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new Error(
        `${options.name ?? 'Tensor'}: data has ${data.length} elements but shape ${formatShape(shape)} needs ${size}`,
      );
    }
    this.shape = Object.freeze([...shape]);
    this.size = size;
    this.dtype = data instanceof Int32Array ? 'int32' : 'float32';
    this.buffer = data;
    this.base = options.base ?? null;
    this.fromPool = options.fromPool ?? false;
    this.name = options.name;
    currentScope()?.track(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The float32 values; throws for int32 tensors and for disposed ones. */
  get data(): Float32Array {
    const buffer = this.values();
    if (!(buffer instanceof Float32Array))
      throw new Error(`${this.describe()} is int32; a float32 tensor is needed here`);
    return buffer;
  }

  /** The int32 values; throws for float32 tensors. */
  get ints(): Int32Array {
    const buffer = this.values();
    if (!(buffer instanceof Int32Array))
      throw new Error(`${this.describe()} is float32; an int32 tensor is needed here`);
    return buffer;
  }

  /** The buffer, alive and with any pending zero fill done: every read of the values goes through here. */
  private values(): Float32Array | Int32Array {
    this.assertAlive();
    // Views share their base's buffer, so the base keeps the pending-zero state for all of them.
    const owner = this.base ?? this;
    if (owner.zeroPending) {
      owner.zeroPending = false;
      this.buffer.fill(0);
    }
    return this.buffer;
  }

  /**
   * Set every value to zero without writing now: the fill happens on the first read, or never
   * when `takeForOverwrite` hands the buffer to a writer first. Gradients are zeroed this way
   * each step and then overwritten by backward, which saves a pass over every parameter.
   */
  zeroLazily(): void {
    this.assertAlive();
    (this.base ?? this).zeroPending = true;
  }

  /** Whether a `zeroLazily` fill is still pending (the values read as zero and nothing wrote them since). */
  get isLazilyZero(): boolean {
    return (this.base ?? this).zeroPending;
  }

  /** The float32 buffer for a writer that overwrites every value; null unless a lazy zero is pending. */
  takeForOverwrite(): Float32Array | null {
    const owner = this.base ?? this;
    if (!owner.zeroPending || this.disposed || !(this.buffer instanceof Float32Array)) return null;
    owner.zeroPending = false;
    return this.buffer;
  }

  /** Whether gradient hooks are registered (the engine then hands this tensor its gradient on its own). */
  get hasGradHooks(): boolean {
    return this.gradHooks.length > 0;
  }

  describe(): string {
    return `${this.name ? `tensor '${this.name}'` : 'tensor'} ${formatShape(this.shape)}`;
  }

  assertAlive(): void {
    if (this.disposed)
      throw new Error(
        `${this.describe()} was used after it was disposed (it was created inside a tidy() scope that has ended)`,
      );
  }

  /** A plain JavaScript copy of the values. */
  toArray(): number[] {
    return Array.from(this.values());
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got ${formatShape(this.shape)}`);
    return this.values()[0]!;
  }

  /** The same values, another shape; shares the buffer and passes gradients through. */
  reshape(shape: Shape): Tensor {
    const resolved = resolveReshape(this.shape, shape);
    const view = new Tensor(this.values(), resolved, { base: this.base ?? this, name: this.name });
    if (this.requiresGrad && isGradEnabled()) {
      view.requiresGrad = true;
      view.gradFn = { op: 'reshape', inputs: [this], backward: (g) => [g] };
    }
    return view;
  }

  /** A view of the same buffer, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.values(), this.shape, { base: this.base ?? this, name: this.name });
  }

  /** Make this a leaf that accumulates gradients in `.grad`. */
  requireGrad(flag = true): this {
    if (this.dtype !== 'float32') throw new Error(`${this.describe()}: only float32 tensors can require gradients`);
    this.requiresGrad = flag;
    return this;
  }

  /** Called with this tensor's complete gradient during backward (for activation/gradient probes). */
  registerGradHook(hook: GradHook): () => void {
    this.gradHooks.push(hook);
    return () => {
      this.gradHooks = this.gradHooks.filter((h) => h !== hook);
    };
  }

  runGradHooks(grad: Float32Array): void {
    for (const hook of this.gradHooks) hook(grad, this);
  }

  /** Return the buffer to the pool. Views and tensors not from the pool only mark themselves dead. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.fromPool && this.base === null) bufferPool.release(this.buffer);
    this.buffer = new Float32Array(0);
    this.gradFn = null;
  }

  /** Reverse-mode differentiation from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Float32Array): void {
    backward(this, gradient);
  }

  /** Zero the accumulated gradient in place (lazily: see `zeroLazily`). */
  zeroGrad(): void {
    this.grad?.zeroLazily();
  }
}

function resolveReshape(from: Shape, to: Shape): number[] {
  const size = shapeSize(from);
  const inferred = to.filter((d) => d === -1).length;
  if (inferred > 1)
    throw new Error(`reshape ${formatShape(from)} → ${formatShape(to)}: at most one dimension may be -1`);
  const known = to.reduce((product, d) => (d === -1 ? product : product * d), 1);
  const resolved = to.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (shapeSize(resolved) !== size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape ${formatShape(from)} → ${formatShape(to)}: sizes differ (${size} elements)`);
  }
  return resolved;
}

// --- creation ------------------------------------------------------------------------------

/** A tensor (float32 unless told) whose buffer comes from the pool inside `tidy`; its contents are unspecified. */
export function empty(shape: Shape, name?: string, dtype: DType = 'float32'): Tensor {
  checkShape(shape, name ?? 'empty');
  const size = shapeSize(shape);
  const inScope = currentScope() !== null;
  let data: Float32Array | Int32Array;
  if (dtype === 'int32') data = inScope ? bufferPool.acquireInt32(size) : new Int32Array(size);
  else data = inScope ? bufferPool.acquire(size) : new Float32Array(size);
  return new Tensor(data, shape, { fromPool: inScope, name });
}

/**
 * A tensor of `value` outside every tidy scope, for state that lives as long as its owner:
 * parameters, module buffers, gradients, optimizer state. Its buffer comes from the kernel backend,
 * which natively puts large ones in huge pages (Kernels.allocateFloat32). Not for transient
 * tensors: Node frees such native buffers only when its event loop turns after a collection, so a
 * synchronous loop that keeps allocating them would pile them up.
 */
export function persistentTensor(shape: Shape, value = 0, name?: string): Tensor {
  checkShape(shape, name ?? 'persistentTensor');
  const data = getKernels().allocateFloat32(shapeSize(shape));
  if (value !== 0) data.fill(value);
  return untracked(() => new Tensor(data, shape, { name }));
}

export function zeros(shape: Shape, name?: string): Tensor {
  const t = empty(shape, name);
  t.data.fill(0);
  return t;
}

export function full(shape: Shape, value: number, name?: string): Tensor {
  const t = empty(shape, name);
  t.data.fill(value);
  return t;
}

/**
 * A tensor over a copy of the values (or over `values` itself when it is a Float32Array/Int32Array and copy is false).
 */
export function tensor(
  values: ArrayLike<number> | Float32Array | Int32Array,
  shape?: Shape,
  options: { copy?: boolean; name?: string; dtype?: DType } = {},
): Tensor {
  const resolvedShape = shape ?? [values.length];
  const dtype = options.dtype ?? (values instanceof Int32Array ? 'int32' : 'float32');
  let data: Float32Array | Int32Array;
  if (!options.copy && dtype === 'float32' && values instanceof Float32Array) data = values;
  else if (!options.copy && dtype === 'int32' && values instanceof Int32Array) data = values;
  else data = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
  if (dtype === 'int32') {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isInteger(values[i]!))
        throw new Error(`${options.name ?? 'tensor'}: value ${values[i]} at index ${i} is not an integer`);
    }
  }
  return new Tensor(data, resolvedShape, { name: options.name });
}

/** Int32 label tensor of shape [n]. */
export function labels(values: ArrayLike<number> | Int32Array, name = 'labels'): Tensor {
  return tensor(values, [values.length], { dtype: 'int32', name });
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

/** Attach a backward rule to an op's output when any input needs gradients. */
export function recordOp(
  op: string,
  output: Tensor,
  inputs: readonly Tensor[],
  backwardFn: GradFn['backward'],
): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.gradFn = { op, inputs, backward: backwardFn };
  }
  return output;
}

// --- scopes ----------------------------------------------------------------------------------

class Scope {
  readonly tensors: Tensor[] = [];
  track(t: Tensor): void {
    this.tensors.push(t);
  }
}

const scopes: Scope[] = [];

function currentScope(): Scope | null {
  return scopes.length === 0 ? null : scopes[scopes.length - 1]!;
}

/** Every tensor reachable from value through arrays and object fields (typed arrays are skipped). */
function collectTensors(value: unknown, into: Set<Tensor>, seen = new Set<object>()): void {
  if (value instanceof Tensor) {
    into.add(value);
    if (value.base) into.add(value.base);
  } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !seen.has(value)) {
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
  const kept = new Set<Tensor>();
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

// --- backward --------------------------------------------------------------------------------

interface Graph {
  /** Inputs before the tensors computed from them. */
  readonly order: Tensor[];
  /** Per tensor, the number of (op, input slot) edges through which it receives gradient. */
  readonly edges: Map<Tensor, number>;
}

function traceGraph(root: Tensor): Graph {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const edges = new Map<Tensor, number>();
  // Iterative DFS: deep nets would overflow the call stack with recursion.
  const stack: Array<{ tensor: Tensor; expanded: boolean }> = [{ tensor: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.tensor);
      continue;
    }
    if (visited.has(top.tensor)) continue;
    visited.add(top.tensor);
    stack.push({ tensor: top.tensor, expanded: true });
    for (const input of top.tensor.gradFn?.inputs ?? []) {
      if (!input.requiresGrad) continue;
      edges.set(input, (edges.get(input) ?? 0) + 1);
      if (!visited.has(input)) stack.push({ tensor: input, expanded: false });
    }
  }
  return { order, edges };
}

/**
 * Gradient buffers in flight. Ops may hand one buffer to several inputs (add passes ∂L/∂out to
 * both operands), so each buffer counts the tensors that hold it: it is copied before being
 * accumulated into while shared, and returned to the pool once nothing holds it.
 */
class GradientTable {
  private readonly grads = new Map<Tensor, Float32Array>();
  private readonly holders = new Map<Float32Array, number>();

  /** Remove and return t's gradient; the caller now holds it and must call `done` with it. */
  take(t: Tensor): Float32Array | undefined {
    const g = this.grads.get(t);
    if (g) {
      this.grads.delete(t);
      this.holders.set(g, (this.holders.get(g) ?? 1) - 1);
    }
    return g;
  }

  /**
   * Add g to t's gradient. `exclusive`: nothing else holds g or will receive it, so it may be
   * written (a shared gradient already in the table is then added into g instead of being copied).
   */
  add(t: Tensor, g: Float32Array, exclusive = false): void {
    if (g.length !== t.size) {
      throw new Error(
        `autograd: gradient for ${t.describe()} has ${g.length} elements, expected ${t.size} (op ${t.gradFn?.op ?? 'leaf'})`,
      );
    }
    const existing = this.grads.get(t);
    if (!existing) {
      this.grads.set(t, g);
      this.holders.set(g, (this.holders.get(g) ?? 0) + 1);
      return;
    }
    if ((this.holders.get(existing) ?? 0) <= 1) {
      getKernels().axpy(1, g, existing);
      return;
    }
    // existing is shared with another tensor: accumulate into a buffer of t's own.
    this.holders.set(existing, this.holders.get(existing)! - 1);
    let target = g;
    if (exclusive) {
      getKernels().axpy(1, existing, g); // g + existing: the same sum as existing + g
    } else {
      target = bufferPool.acquire(existing.length);
      target.set(existing);
      getKernels().axpy(1, g, target);
    }
    this.grads.set(t, target);
    this.holders.set(target, (this.holders.get(target) ?? 0) + 1);
  }

  holderCount(g: Float32Array): number {
    return this.holders.get(g) ?? 0;
  }

  /** Count a holder of g while a backward rule's results are being distributed: an in-flight
   *  buffer is then never accumulated into in place, nor recycled before every input has it. */
  hold(g: Float32Array): void {
    this.holders.set(g, (this.holders.get(g) ?? 0) + 1);
  }

  /** End a `hold`; recycles g if no tensor kept it. */
  release(g: Float32Array): void {
    this.holders.set(g, (this.holders.get(g) ?? 1) - 1);
    this.done(g);
  }

  /** The caller no longer needs g: recycle it unless a tensor still holds it. */
  done(g: Float32Array): void {
    if ((this.holders.get(g) ?? 0) > 0) return;
    this.holders.delete(g);
    if (scopes.length > 0) bufferPool.release(g);
  }
}

/** Where a backward rule writes a leaf's gradient: its `.grad` buffer, overwritten (beta 0) or added to (beta 1). */
export interface LeafGradTarget {
  readonly buffer: Float32Array;
  readonly beta: 0 | 1;
}

/** One SGD step of a leaf: its momentum buffer (null without momentum) and the settings. */
export interface LeafSgdUpdate {
  readonly momentumBuffer: Float32Array | null;
  readonly sgd: SgdParams;
}

/**
 * An SGD step that a backward rule may apply to a leaf itself, from the leaf's gradient as it
 * computes it (kernels.gemmSgdUpdate), instead of storing the gradient for the optimiser: offered
 * by `Optimizer.backwardAndStep` through `backward`'s `leafUpdates`. `take` is called once, when a
 * rule commits to applying it (the optimiser records the step then).
 */
export interface LeafSgdUpdateOffer {
  take(): LeafSgdUpdate;
}

/**
 * Leaves whose gradient a backward rule may write straight into `.grad`, which saves copying or
 * adding a separate gradient buffer per parameter per step: leaves that receive gradient through
 * exactly one edge of the graph (so that one contribution is the whole gradient of this backward
 * call) and have no gradient hooks (which must see the contribution alone). Of those, the leaves
 * with an offered LeafSgdUpdate and no gradient so far (no `.grad`, or one lazily zeroed) may be
 * updated by the rule instead.
 */
class DirectLeafGradients {
  /** Buffers handed out to the backward rule running now, by leaf. */
  readonly handedOut = new Map<Tensor, Float32Array>();
  /** Leaves whose update the rule running now took. */
  private readonly claimed = new Set<Tensor>();
  /** Leaves updated by a backward rule during this backward call. */
  readonly updated = new Set<Tensor>();

  constructor(
    private readonly eligible: Set<Tensor>,
    private readonly offers: ReadonlyMap<Tensor, LeafSgdUpdateOffer>,
  ) {}

  claimUpdate(input: Tensor): LeafSgdUpdate | null {
    const offer = this.offers.get(input);
    if (!offer || !this.eligible.has(input)) return null;
    if (input.grad && !input.grad.isLazilyZero) return null;
    this.eligible.delete(input);
    this.claimed.add(input);
    this.updated.add(input);
    return offer.take();
  }

  target(input: Tensor, canAccumulate: boolean): LeafGradTarget | null {
    if (!this.eligible.has(input)) return null;
    let target: LeafGradTarget | null = null;
    if (!input.grad) {
      const grad = persistentTensor(input.shape, 0, gradName(input));
      input.grad = grad;
      target = { buffer: grad.data, beta: 0 };
    } else if (input.grad.dtype === 'float32' && input.grad.size === input.size && !input.grad.isDisposed) {
      const zeroed = input.grad.takeForOverwrite();
      if (zeroed) target = { buffer: zeroed, beta: 0 };
      else if (canAccumulate) target = { buffer: input.grad.data, beta: 1 };
    }
    if (target) {
      this.eligible.delete(input);
      this.handedOut.set(input, target.buffer);
    }
    return target;
  }

  /** Whether the rule returned input's `.grad` buffer, i.e. already wrote input's gradient there. */
  wrote(input: Tensor, g: Float32Array): boolean {
    return this.handedOut.get(input) === g;
  }

  /** After a rule's results are distributed: every buffer it took must have come back. */
  finishRule(op: string, inputGrads: ReadonlyArray<Float32Array | null>, inputs: readonly Tensor[]): void {
    for (const [leaf, buffer] of this.handedOut) {
      if (inputGrads[inputs.indexOf(leaf)] !== buffer) {
        throw new Error(
          `autograd: the backward rule of ${op} took the gradient buffer of ${leaf.describe()} but did not return it`,
        );
      }
    }
    for (const leaf of this.claimed) {
      if (inputGrads[inputs.indexOf(leaf)] !== null) {
        throw new Error(
          `autograd: the backward rule of ${op} took the update of ${leaf.describe()} but also returned its gradient`,
        );
      }
    }
    this.handedOut.clear();
    this.claimed.clear();
  }
}

let directLeaves: DirectLeafGradients | null = null;

/**
 * For backward rules: the `.grad` buffer of `input` to write its gradient into, when the engine
 * allows it (see DirectLeafGradients), else null and the rule returns a fresh buffer as usual.
 * beta 0: overwrite every value; beta 1 (only offered when `canAccumulate`): add to the values.
 * A rule that takes a target must write it and return it as that input's gradient.
 */
export function leafGradTarget(input: Tensor, canAccumulate: boolean): LeafGradTarget | null {
  return directLeaves?.target(input, canAccumulate) ?? null;
}

/**
 * For backward rules: the SGD step to apply to `input` in place of computing its gradient, when
 * `backward` was offered one for it and input's gradient is exactly what this rule computes (see
 * DirectLeafGradients), else null. A rule that takes it must apply it, after every use of input's
 * values, and return null as input's gradient.
 */
export function leafSgdUpdate(input: Tensor): LeafSgdUpdate | null {
  return directLeaves?.claimUpdate(input) ?? null;
}

function gradName(leaf: Tensor): string | undefined {
  return leaf.name ? `${leaf.name}.grad` : undefined;
}

function accumulateLeafGrad(leaf: Tensor, g: Float32Array): void {
  if (!leaf.grad) {
    leaf.grad = persistentTensor(leaf.shape, 0, gradName(leaf));
    leaf.grad.data.set(g);
    return;
  }
  const zeroed = leaf.grad.takeForOverwrite();
  if (zeroed) zeroed.set(g);
  else getKernels().axpy(1, g, leaf.grad.data);
}

/**
 * Reverse-mode differentiation of `root` (a one-element loss, unless `gradient` is given).
 * `leafUpdates`: SGD steps that backward rules may apply to those leaves instead of storing their
 * gradients (see leafSgdUpdate); returns the leaves so updated, whose `.grad` is left as it was.
 */
export function backward(
  root: Tensor,
  gradient?: Float32Array,
  leafUpdates: ReadonlyMap<Tensor, LeafSgdUpdateOffer> = new Map(),
): ReadonlySet<Tensor> {
  root.assertAlive();
  if (!root.requiresGrad)
    throw new Error(`backward: ${root.describe()} does not require gradients (no input of its graph does)`);
  if (!gradient && root.size !== 1)
    throw new Error(`backward: ${root.describe()} is not a scalar; pass the gradient of the output`);
  if (gradient && gradient.length !== root.size)
    throw new Error(`backward: gradient has ${gradient.length} elements, ${root.describe()} has ${root.size}`);
  const seed = gradient ? Float32Array.from(gradient) : new Float32Array([1]);
  const table = new GradientTable();
  table.add(root, seed);
  const { order, edges } = traceGraph(root);
  const eligible = new Set<Tensor>();
  for (const [t, count] of edges) if (count === 1 && !t.gradFn && !t.hasGradHooks) eligible.add(t);
  const direct = new DirectLeafGradients(eligible, leafUpdates);
  const outerDirect = directLeaves;
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = table.take(t);
      if (!g) continue;
      t.runGradHooks(g);
      if (!t.gradFn) {
        accumulateLeafGrad(t, g);
        table.done(g);
        continue;
      }
      t.assertAlive();
      const { inputs, op } = t.gradFn;
      directLeaves = direct;
      let inputGrads: ReadonlyArray<Float32Array | null>;
      try {
        inputGrads = t.gradFn.backward(g, table.holderCount(g) === 0);
      } finally {
        directLeaves = outerDirect;
      }
      distribute(table, g, inputs, inputGrads, direct);
      direct.finishRule(op, inputGrads, inputs);
    }
  } finally {
    directLeaves = outerDirect;
  }
  return direct.updated;
}

/** Hand a backward rule's results (∂L/∂inputs, computed from g = ∂L/∂output) to the inputs. */
function distribute(
  table: GradientTable,
  g: Float32Array,
  inputs: readonly Tensor[],
  inputGrads: ReadonlyArray<Float32Array | null>,
  direct: DirectLeafGradients,
): void {
  // g and the returned buffers (which may repeat, or be g itself) stay held until every input
  // has its share: otherwise accumulating into one input's gradient could change a buffer that
  // another input is about to receive, or recycle it while still in use. Buffers written straight
  // into a leaf's .grad are not the engine's and are left alone.
  const receivers = new Map<Float32Array, number>();
  inputs.forEach((input, k) => {
    const ig = inputGrads[k];
    if (ig && input.requiresGrad && !direct.wrote(input, ig)) receivers.set(ig, (receivers.get(ig) ?? 0) + 1);
  });
  const inFlight = new Set<Float32Array>([g, ...receivers.keys()]);
  for (const buffer of inFlight) table.hold(buffer);
  inputs.forEach((input, k) => {
    const ig = inputGrads[k];
    if (!ig || !input.requiresGrad || direct.wrote(input, ig)) return;
    // Held only by this distribution (the hold above) and received by this input alone.
    const exclusive = receivers.get(ig) === 1 && table.holderCount(ig) === 1;
    table.add(input, ig, exclusive);
  });
  for (const buffer of inFlight) table.release(buffer);
}
