/**
 * Base of the optimisers: parameters by state_dict key, per-parameter state (step count and
 * moment buffers) by the same key, so a saved optimiser resumes exactly on the same model.
 *
 * The update arithmetic lives in the kernels (`sgdUpdate`, `adamUpdate`, PyTorch semantics).
 * `zeroGrad` zeroes gradients in place (PyTorch's set_to_none=False): a parameter that has never
 * received a gradient is skipped by `step`, as in PyTorch.
 */
import { formatShape, full, persistentOnWebGpu, persistentTensor, type Tensor } from '../tensor/tensor.js';
import { untracked } from '../tensor/scope.js';
import { webgpuRuntime } from '../tensor/device.js';
import { backward } from '../tensor/autograd.js';
import type { LeafSgdUpdate, LeafSgdUpdateOffer } from '../tensor/fusedStep.js';

export type NamedParameters = Iterable<readonly [string, Tensor]>;
export type Hyperparameters = Record<string, number | boolean>;

export interface ParameterState {
  /** Updates applied to this parameter so far. */
  readonly step: number;
  /** Moment buffers by PyTorch's state names (momentum_buffer, exp_avg, exp_avg_sq), parameter-shaped. */
  readonly buffers: Readonly<Record<string, Tensor>>;
}

/** Everything `loadStateDict` needs to resume exactly. Its tensors are snapshots: later steps do not change them. */
export interface OptimizerState {
  readonly kind: string;
  readonly hyperparameters: Hyperparameters;
  /** Number of `step()` calls. */
  readonly stepCount: number;
  readonly params: Readonly<Record<string, ParameterState>>;
}

interface MutableParameterState {
  step: number;
  buffers: Map<string, Tensor>;
}

export abstract class Optimizer<H extends Hyperparameters> {
  abstract readonly kind: string;
  private readonly parameters: ReadonlyArray<readonly [string, Tensor]>;
  private readonly state = new Map<string, MutableParameterState>();
  private steps = 0;
  protected hyper: H;

  constructor(params: NamedParameters, hyperparameters: H) {
    this.parameters = [...params];
    const seen = new Set<string>();
    for (const [name, p] of this.parameters) {
      if (seen.has(name)) throw new Error(`optimizer: parameter '${name}' is given twice`);
      seen.add(name);
      if (p.dtype !== 'float32')
        throw new Error(`optimizer: parameter '${name}' is ${p.dtype}; only float32 tensors can be optimised`);
    }
    if (this.parameters.length === 0) throw new Error('optimizer: no parameters to optimise');
    this.hyper = this.validate(hyperparameters);
  }

  /** Throws naming the first invalid setting; returns the settings to keep. */
  protected abstract validate(hyperparameters: H): H;

  /** Apply one update to `param` given its gradient (on param's device) and its state (buffers made on first use). */
  protected abstract update(param: Tensor, grad: Tensor, state: MutableParameterState): void;

  get hyperparameters(): Readonly<H> {
    return { ...this.hyper };
  }

  get lr(): number {
    return this.hyper.lr as number;
  }

  set lr(value: number) {
    this.hyper = this.validate({ ...this.hyper, lr: value });
  }

  /** Number of `step()` calls so far (restored by `loadStateDict`). */
  get stepCount(): number {
    return this.steps;
  }

  zeroGrad(): void {
    for (const [, p] of this.parameters) p.zeroGrad();
  }

  step(): void {
    this.stepAllBut(new Set());
  }

  /**
   * `loss.backward()` then `step()`, except that a parameter whose step a backward rule can apply
   * as it computes the gradient (SGD on a linear layer's weight with no other use in the graph and
   * no gradient so far: kernels.gemmSgdUpdate) is updated there, so its gradient is never stored
   * and read back. The parameters, buffers and state come out as from the two calls; the `.grad`
   * of a parameter updated in backward is left as `zeroGrad` left it.
   */
  backwardAndStep(loss: Tensor): void {
    const offers = new Map<Tensor, LeafSgdUpdateOffer>();
    const sgdStep = this.sgdStep?.bind(this);
    if (sgdStep) {
      for (const [name, p] of this.parameters) {
        offers.set(p, {
          take: () => {
            const state = this.stateOf(name);
            const update = sgdStep(p, state);
            state.step++;
            return update;
          },
        });
      }
    }
    this.stepAllBut(backward(loss, undefined, offers));
  }

  /** The step of every parameter with a gradient, except those already updated. */
  private stepAllBut(updated: ReadonlySet<Tensor>): void {
    for (const [name, p] of this.parameters) {
      if (!p.grad || updated.has(p)) continue;
      const state = this.stateOf(name);
      this.update(p, p.grad, state);
      state.step++;
    }
    this.steps++;
  }

  private stateOf(name: string): MutableParameterState {
    let state = this.state.get(name);
    if (!state) {
      state = { step: 0, buffers: new Map() };
      this.state.set(name, state);
    }
    return state;
  }

  /**
   * This step of `param` as an SGD update, creating its buffers in `state` as `update` would:
   * defined by optimizers whose every step is one, so that backward rules can apply it themselves.
   */
  protected sgdStep?(param: Tensor, state: MutableParameterState): LeafSgdUpdate;

  /** A zero buffer shaped and placed like `param`, stored under `key` in the state (created once). */
  protected buffer(state: MutableParameterState, key: string, param: Tensor): Tensor {
    let t = state.buffers.get(key);
    if (!t) {
      t = param.device === 'cpu' ? persistentTensor(param.shape) : persistentOnWebGpu(param.shape);
      state.buffers.set(key, t);
    }
    return t;
  }

  /** A snapshot of the state, for cpu parameters (webgpu ones: `readStateDict`, which downloads). */
  stateDict(): OptimizerState {
    return this.snapshot((t) => copyOf(t, false));
  }

  /** `stateDict` for parameters on any device: the buffers downloaded into host tensors. */
  async readStateDict(): Promise<OptimizerState> {
    const copies = new Map<Tensor, Tensor>();
    for (const state of this.state.values()) for (const t of state.buffers.values()) copies.set(t, await t.to('cpu'));
    return this.snapshot((t) => copies.get(t)!);
  }

  private snapshot(copy: (t: Tensor) => Tensor): OptimizerState {
    const params: Record<string, ParameterState> = {};
    for (const [name] of this.parameters) {
      const state = this.state.get(name);
      if (!state) continue;
      const buffers: Record<string, Tensor> = {};
      for (const [key, t] of state.buffers) buffers[key] = copy(t);
      params[name] = { step: state.step, buffers };
    }
    return { kind: this.kind, hyperparameters: { ...this.hyper }, stepCount: this.steps, params };
  }

  /** Restore hyperparameters, step counts and buffers (copied). Throws listing every mismatch. */
  loadStateDict(saved: OptimizerState): void {
    const problems: string[] = [];
    if (saved.kind !== this.kind) problems.push(`it was saved by ${saved.kind}, this is ${this.kind}`);
    const byName = new Map(this.parameters);
    for (const [name, state] of Object.entries(saved.params)) {
      const shape = byName.get(name)?.shape;
      if (!shape) {
        problems.push(`state for unknown parameter '${name}'`);
        continue;
      }
      if (!Number.isInteger(state.step) || state.step < 0)
        problems.push(`'${name}': step ${state.step} is not a non-negative integer`);
      for (const [key, t] of Object.entries(state.buffers)) {
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]) || t.dtype !== 'float32') {
          problems.push(
            `'${name}.${key}': ${t.dtype} ${formatShape(t.shape)} but the parameter is float32 ${formatShape(shape)}`,
          );
        }
      }
    }
    const unknownHyper = Object.keys(saved.hyperparameters).filter((k) => !(k in this.hyper));
    if (unknownHyper.length > 0) problems.push(`unknown hyperparameters ${unknownHyper.join(', ')}`);
    if (problems.length > 0) throw new Error(`optimizer loadStateDict: ${problems.join('; ')}`);
    this.hyper = this.validate({ ...this.hyper, ...saved.hyperparameters });
    this.steps = saved.stepCount;
    this.state.clear();
    for (const [name, state] of Object.entries(saved.params)) {
      const buffers = new Map<string, Tensor>();
      const param = byName.get(name)!;
      for (const [key, t] of Object.entries(state.buffers)) buffers.set(key, persistentCopy(t, param));
      this.state.set(name, { step: state.step, buffers });
    }
  }
}

export type { MutableParameterState };

/** A copy of t outside every scope: long-lived optimizer state when `persistent` (a loaded
 *  buffer), else an ordinary array (a stateDict snapshot, usually written out and dropped). */
function copyOf(t: Tensor, persistent: boolean): Tensor {
  const copy = persistent ? persistentTensor(t.shape) : untracked(() => full(t.shape, 0));
  copy.data.set(t.data);
  return copy;
}

/** Loaded state (host values) as long-lived state on `param`'s device. */
function persistentCopy(t: Tensor, param: Tensor): Tensor {
  if (param.device === 'cpu') return copyOf(t, true);
  const copy = persistentOnWebGpu(t.shape);
  webgpuRuntime(param.describe()).writeArray(copy.deviceArray, t.data);
  return copy;
}

/** Throws unless value is a finite number in [min, max) (or [min, max] when `inclusiveMax`). */
export function checkRange(
  where: string,
  name: string,
  value: number,
  min: number,
  max = Infinity,
  inclusiveMax = false,
): void {
  const ok = Number.isFinite(value) && value >= min && (inclusiveMax ? value <= max : value < max);
  if (!ok) throw new Error(`${where}: ${name} must be in [${min}, ${max}${inclusiveMax ? ']' : ')'}, got ${value}`);
}
