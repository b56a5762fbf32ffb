/**
 * Reverse-mode autograd. Ops build their output and, when gradients are being recorded and an
 * input requires them, attach a `GradFn` (`recordOp`): the inputs and a closure mapping the
 * output's gradient to the inputs' gradients. `backward` sorts that graph and runs the closures in
 * reverse (micrograd's design, on typed arrays), passing gradient buffers from op to op through a
 * `GradientTable` and leaving each leaf's gradient in its `.grad`.
 */
import { getKernels } from '../kernels/index.js';
import {
  axpy as axpyOnDevice,
  DeviceArray,
  fill as fillOnDevice,
  scale as scaleOnDevice,
} from '../kernels/webgpu/index.js';
import { devicePool, webgpuRuntime } from './device.js';
import { DirectLeafGradients, runRule, type LeafSgdUpdateOffer } from './fusedStep.js';
import { bufferPool } from './pool.js';
import { inTidyScope, isGradEnabled } from './scope.js';
import type { Tensor } from './tensor.js';

/** Backward rule of one recorded op: given ∂L/∂output, return ∂L/∂input for each input
 *  (null where an input needs none). Returned buffers become the engine's: they must not be
 *  written by the op afterwards; returning the same buffer for two inputs is allowed.
 *  `writable`: nothing else holds gradOutput, so the rule may overwrite it (element-wise rules
 *  compute ∂L/∂input in place and return gradOutput itself, saving a buffer and a pass's writes
 *  to fresh memory). */
export interface GradFn {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  backward(gradOutput: GradData, writable: boolean): ReadonlyArray<GradData | null>;
}

/** A gradient in flight: a host buffer for cpu tensors, a device array for webgpu ones. */
export type GradData = Float32Array | DeviceArray;

/**
 * Attach a backward rule to an op's output when any input needs gradients. G is the gradient's
 * storage: Float32Array on the cpu (the default), DeviceArray on webgpu, or the generic buffer F of
 * an op written over OpStorage (ops/storage.ts); gradients are always on the device of the tensors
 * (GradientTable checks).
 */
export function recordOp<G extends GradData = Float32Array>(
  op: string,
  output: Tensor,
  inputs: readonly Tensor[],
  backwardFn: (gradOutput: G, writable: boolean) => ReadonlyArray<G | null>,
): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.gradFn = { op, inputs, backward: backwardFn };
  }
  return output;
}

/** y += x on whichever device holds them (the engine's accumulation of gradients). */
function accumulate(x: GradData, y: GradData): void {
  if (y instanceof Float32Array) getKernels().axpy(1, x as Float32Array, y);
  else axpyOnDevice(webgpuRuntime('a gradient'), 1, x as DeviceArray, y);
}

/** A copy of g in a fresh pooled buffer on g's device. */
function copyOf(g: GradData): GradData {
  if (g instanceof Float32Array) {
    const copy = bufferPool.acquire(g.length);
    copy.set(g);
    return copy;
  }
  const copy = devicePool.acquire(g.length, 'f32', 'gradient');
  scaleOnDevice(webgpuRuntime('a gradient'), g, 1, copy);
  return copy;
}

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
  private readonly grads = new Map<Tensor, GradData>();
  private readonly holders = new Map<GradData, number>();

  /** Remove and return t's gradient; the caller now holds it and must call `done` with it. */
  take(t: Tensor): GradData | undefined {
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
  add(t: Tensor, g: GradData, exclusive = false): void {
    if (g.length !== t.size) {
      throw new Error(
        `autograd: gradient for ${t.describe()} has ${g.length} elements, expected ${t.size} (op ${t.gradFn?.op ?? 'leaf'})`,
      );
    }
    if (g instanceof DeviceArray !== (t.device === 'webgpu')) {
      throw new Error(
        `autograd: gradient for ${t.describe()} (on ${t.device}) is on ${g instanceof DeviceArray ? 'webgpu' : 'cpu'} (op ${t.gradFn?.op ?? 'leaf'})`,
      );
    }
    const existing = this.grads.get(t);
    if (!existing) {
      this.grads.set(t, g);
      this.holders.set(g, (this.holders.get(g) ?? 0) + 1);
      return;
    }
    if ((this.holders.get(existing) ?? 0) <= 1) {
      accumulate(g, existing);
      return;
    }
    // existing is shared with another tensor: accumulate into a buffer of t's own.
    this.holders.set(existing, this.holders.get(existing)! - 1);
    let target = g;
    if (exclusive) {
      accumulate(existing, g); // g + existing: the same sum as existing + g
    } else {
      target = copyOf(existing);
      accumulate(g, target);
    }
    this.grads.set(t, target);
    this.holders.set(target, (this.holders.get(target) ?? 0) + 1);
  }

  holderCount(g: GradData): number {
    return this.holders.get(g) ?? 0;
  }

  /** Count a holder of g while a backward rule's results are being distributed: an in-flight
   *  buffer is then never accumulated into in place, nor recycled before every input has it. */
  hold(g: GradData): void {
    this.holders.set(g, (this.holders.get(g) ?? 0) + 1);
  }

  /** End a `hold`; recycles g if no tensor kept it. */
  release(g: GradData): void {
    this.holders.set(g, (this.holders.get(g) ?? 1) - 1);
    this.done(g);
  }

  /** The caller no longer needs g: recycle it unless a tensor still holds it. */
  done(g: GradData): void {
    if ((this.holders.get(g) ?? 0) > 0) return;
    this.holders.delete(g);
    // Device memory is not garbage-collected in time: device gradients always go back to the pool.
    if (g instanceof DeviceArray) devicePool.release(g);
    else if (inTidyScope()) bufferPool.release(g);
  }
}

function accumulateLeafGrad(leaf: Tensor, g: GradData): void {
  if (g instanceof DeviceArray) {
    accumulateDeviceLeafGrad(leaf, g);
    return;
  }
  if (!leaf.grad) {
    leaf.createGrad().data.set(g);
    return;
  }
  const zeroed = leaf.grad.takeForOverwrite();
  if (zeroed) zeroed.set(g);
  else getKernels().axpy(1, g, leaf.grad.data);
}

function accumulateDeviceLeafGrad(leaf: Tensor, g: DeviceArray): void {
  const gpu = webgpuRuntime(leaf.describe());
  const zeroed = leaf.grad ? leaf.grad.takeDeviceArrayForOverwrite() : leaf.createGrad().deviceArray;
  if (zeroed) scaleOnDevice(gpu, g, 1, zeroed);
  else axpyOnDevice(gpu, 1, g, leaf.grad!.deviceArray);
}

/** backward's seed: the given gradient or 1, on the root's device. */
function seedGradient(root: Tensor, gradient: Float32Array | undefined): GradData {
  const host = gradient ? Float32Array.from(gradient) : new Float32Array([1]);
  if (root.device === 'cpu') return host;
  const gpu = webgpuRuntime(root.describe());
  const seed = devicePool.acquire(host.length, 'f32', 'gradient seed');
  if (gradient) gpu.writeArray(seed, host);
  else fillOnDevice(gpu, seed, 1);
  return seed;
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
  const table = new GradientTable();
  table.add(root, seedGradient(root, gradient));
  const { order, edges } = traceGraph(root);
  const direct = DirectLeafGradients.forGraph(edges, leafUpdates);
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
    const gradFn = t.gradFn;
    const inputGrads = runRule(direct, () => gradFn.backward(g, table.holderCount(g) === 0));
    distribute(table, g, gradFn.inputs, inputGrads, direct);
    direct.finishRule(gradFn.op, inputGrads, gradFn.inputs);
  }
  return direct.updated;
}

/** Hand a backward rule's results (∂L/∂inputs, computed from g = ∂L/∂output) to the inputs. */
function distribute(
  table: GradientTable,
  g: GradData,
  inputs: readonly Tensor[],
  inputGrads: ReadonlyArray<GradData | null>,
  direct: DirectLeafGradients,
): void {
  // g and the returned buffers (which may repeat, or be g itself) stay held until every input
  // has its share: otherwise accumulating into one input's gradient could change a buffer that
  // another input is about to receive, or recycle it while still in use. Buffers written straight
  // into a leaf's .grad are not the engine's and are left alone.
  const receivers = new Map<GradData, number>();
  inputs.forEach((input, k) => {
    const ig = inputGrads[k];
    if (ig && input.requiresGrad && !direct.wrote(input, ig)) receivers.set(ig, (receivers.get(ig) ?? 0) + 1);
  });
  const inFlight = new Set<GradData>([g, ...receivers.keys()]);
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
