/**
 * Finite-difference gradient checks for ops.
 *
 * The op's output is reduced to a scalar L = Σ wᵢ · outᵢ with fixed random weights w (so every
 * output element matters and errors cannot cancel), the analytic gradient comes from backward
 * with gradient w, and the numeric one from central differences (L(x + h) − L(x − h)) / 2h per
 * input element, in float32 arithmetic with L summed in float64. An element fails when
 * |analytic − numeric| > tolerance · (|numeric| + 0.1 · scale) + rounding, scale being the input's
 * largest |numeric| (at least 1e-2) and rounding = 4 · 2⁻²⁴ · Σ|wᵢ · outᵢ| / h the float32
 * rounding noise of a difference quotient: relative per element, with absolute floors for noise.
 */
import { Rng } from '../../src/tensor/rng.js';
import { noGrad } from '../../src/tensor/scope.js';
import { formatShape, type Tensor } from '../../src/tensor/tensor.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-2). */
  readonly h?: number;
  /** Relative tolerance against the input's largest numeric gradient (default 1e-2). */
  readonly tolerance?: number;
  readonly seed?: number;
}

export interface GradcheckFailure {
  readonly input: number;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

function weightedSum(out: Tensor, weights: Float32Array): number {
  const data = out.data;
  let total = 0;
  for (let i = 0; i < data.length; i++) total += weights[i]! * data[i]!;
  return total;
}

function weightedAbsSum(out: Tensor, weights: Float32Array): number {
  const data = out.data;
  let total = 0;
  for (let i = 0; i < data.length; i++) total += Math.abs(weights[i]! * data[i]!);
  return total;
}

function analyticGradients(f: () => Tensor, inputs: readonly Tensor[], weights: Float32Array): Float32Array[] {
  for (const input of inputs) input.grad = null;
  const out = f();
  out.backward(weights);
  return inputs.map((input) => (input.grad ? Float32Array.from(input.grad.data) : new Float32Array(input.size)));
}

function numericGradient(f: () => Tensor, input: Tensor, weights: Float32Array, h: number): Float64Array {
  const data = input.data;
  const grad = new Float64Array(input.size);
  noGrad(() => {
    for (let i = 0; i < data.length; i++) {
      const original = data[i]!;
      data[i] = original + h;
      const plus = weightedSum(f(), weights);
      data[i] = original - h;
      const minus = weightedSum(f(), weights);
      data[i] = original;
      // Divide by the step actually taken in float32.
      grad[i] = (plus - minus) / (Math.fround(original + h) - Math.fround(original - h));
    }
  });
  return grad;
}

/** Every mismatch between analytic and numeric gradients of f with respect to `inputs`. */
export function gradientMismatches(
  f: () => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): GradcheckFailure[] {
  const h = options.h ?? 1e-2;
  const tolerance = options.tolerance ?? 1e-2;
  for (const input of inputs) input.requireGrad();
  const probe = noGrad(f);
  const weights = new Float32Array(probe.size);
  new Rng(options.seed ?? 12345, 'gradcheck').fillUniform(weights, -1, 1);
  const rounding = (4 * 2 ** -24 * weightedAbsSum(probe, weights)) / h;
  const analytic = analyticGradients(f, inputs, weights);
  const failures: GradcheckFailure[] = [];
  inputs.forEach((input, k) => {
    const numeric = numericGradient(f, input, weights, h);
    let scale = 1e-2;
    for (const v of numeric) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < numeric.length; i++) {
      const a = analytic[k]![i]!;
      const n = numeric[i]!;
      if (!(Math.abs(a - n) <= tolerance * (Math.abs(n) + 0.1 * scale) + rounding))
        failures.push({ input: k, index: i, analytic: a, numeric: n });
    }
  });
  return failures;
}

/** Throws, naming the worst elements, unless the gradients of f match finite differences. */
export function checkGradients(
  name: string,
  f: () => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): void {
  const failures = gradientMismatches(f, inputs, options);
  if (failures.length === 0) return;
  const worst = [...failures]
    .sort((x, y) => Math.abs(y.analytic - y.numeric) - Math.abs(x.analytic - x.numeric))
    .slice(0, 5)
    .map(
      (e) =>
        `input ${e.input} ${formatShape(inputs[e.input]!.shape)}[${e.index}]: analytic ${e.analytic}, numeric ${e.numeric}`,
    );
  throw new Error(`${name}: gradient mismatch in ${failures.length} element(s): ${worst.join('; ')}`);
}
