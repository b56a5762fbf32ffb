/**
 * The fused step: backward rules that write a leaf's gradient straight into its `.grad`, or apply
 * the leaf's SGD step from the gradient as they compute it, instead of handing the engine a fresh
 * gradient buffer. Saves copying (or adding) a separate buffer per parameter per step, and with SGD
 * a pass over every parameter. The engine (autograd.ts) decides which leaves qualify, per backward
 * call; the rules ask through `leafGradTarget` and `leafSgdUpdate` while it runs them.
 */
import type { SgdParams } from '../kernels/interface.js';
import type { GradData } from './autograd.js';
import type { Tensor } from './tensor.js';

/** Where a backward rule writes a leaf's gradient: its `.grad` buffer, overwritten (beta 0) or added to (beta 1);
 *  for ops, F is any device's buffer (src/tensor/ops/storage.ts), but only cpu leaves are offered theirs. */
export interface LeafGradTarget<F = Float32Array> {
  readonly buffer: F;
  readonly beta: 0 | 1;
}

/** One SGD step of a leaf: its momentum buffer (on the leaf's device; null without momentum) and the settings. */
export interface LeafSgdUpdate {
  readonly momentumBuffer: Tensor | null;
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
export class DirectLeafGradients {
  /** Buffers handed out to the backward rule running now, by leaf. */
  readonly handedOut = new Map<Tensor, Float32Array>();
  /** Leaves whose update the rule running now took. */
  private readonly claimed = new Set<Tensor>();
  /** Leaves updated by a backward rule during this backward call. */
  readonly updated = new Set<Tensor>();

  private constructor(
    private readonly eligible: Set<Tensor>,
    private readonly offers: ReadonlyMap<Tensor, LeafSgdUpdateOffer>,
  ) {}

  /** For one backward call: `edges` counts, per tensor of the graph, the edges that bring it gradient. */
  static forGraph(
    edges: ReadonlyMap<Tensor, number>,
    offers: ReadonlyMap<Tensor, LeafSgdUpdateOffer>,
  ): DirectLeafGradients {
    const eligible = new Set<Tensor>();
    for (const [t, count] of edges) if (count === 1 && !t.gradFn && !t.hasGradHooks) eligible.add(t);
    return new DirectLeafGradients(eligible, offers);
  }

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
    if (!this.eligible.has(input) || input.device !== 'cpu') return null;
    let target: LeafGradTarget | null = null;
    if (!input.grad) {
      target = { buffer: input.createGrad().data, beta: 0 };
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
  wrote(input: Tensor, g: GradData): boolean {
    return this.handedOut.get(input) === g;
  }

  /** After a rule's results are distributed: every buffer it took must have come back. */
  finishRule(op: string, inputGrads: ReadonlyArray<GradData | null>, inputs: readonly Tensor[]): void {
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

/** The backward call whose rule is running now (set only while a rule runs). */
let active: DirectLeafGradients | null = null;

/** Run a backward rule of the backward call `direct` belongs to: the rule's calls below ask `direct`. */
export function runRule<T>(direct: DirectLeafGradients, rule: () => T): T {
  const outer = active;
  active = direct;
  try {
    return rule();
  } finally {
    active = outer;
  }
}

/**
 * For backward rules: the `.grad` buffer of `input` to write its gradient into, when the engine
 * allows it (see DirectLeafGradients), else null and the rule returns a fresh buffer as usual.
 * beta 0: overwrite every value; beta 1 (only offered when `canAccumulate`): add to the values.
 * A rule that takes a target must write it and return it as that input's gradient.
 */
export function leafGradTarget(input: Tensor, canAccumulate: boolean): LeafGradTarget | null {
  return active?.target(input, canAccumulate) ?? null;
}

/**
 * For backward rules: the SGD step to apply to `input` in place of computing its gradient, when
 * `backward` was offered one for it and input's gradient is exactly what this rule computes (see
 * DirectLeafGradients), else null. A rule that takes it must apply it, after every use of input's
 * values, and return null as input's gradient.
 */
export function leafSgdUpdate(input: Tensor): LeafSgdUpdate | null {
  return active?.claimUpdate(input) ?? null;
}
