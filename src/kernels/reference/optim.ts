/**
 * Optimiser updates, in place, following torch.optim's single-tensor implementations step by step.
 * Each element's update is computed in float64 and rounded to float32 when stored, as the
 * parameters and the optimiser state are float32.
 */
import type { AdamParams, GemmParams, SgdParams } from '../interface.js';
import { gemm } from './gemm.js';

/**
 * torch.optim.SGD: d = grad + weightDecay · param; with momentum, buf = d on the first step and
 * buf = momentum · buf + (1 − dampening) · d after; d = nesterov ? d + momentum · buf : buf;
 * param −= lr · d.
 */
export function sgdUpdate(
  param: Float32Array,
  grad: Float32Array,
  momentumBuffer: Float32Array | null,
  p: SgdParams,
): void {
  const { lr, momentum, dampening, weightDecay, nesterov, firstStep } = p;
  for (let i = 0; i < param.length; i++) {
    let d = grad[i]!;
    if (weightDecay !== 0) d += weightDecay * param[i]!;
    if (momentum !== 0 && momentumBuffer) {
      const buf = firstStep ? d : momentum * momentumBuffer[i]! + (1 - dampening) * d;
      momentumBuffer[i] = buf;
      // Use the stored (float32) buffer value, as PyTorch reads its buffer tensor back.
      d = nesterov ? d + momentum * momentumBuffer[i]! : momentumBuffer[i]!;
    }
    param[i] = param[i]! - lr * d;
  }
}

/** The gradient alpha · op(A) · op(B) computed by gemm, then sgdUpdate: what the fused native kernel must equal. */
export function gemmSgdUpdate(
  a: Float32Array,
  b: Float32Array,
  param: Float32Array,
  momentumBuffer: Float32Array | null,
  p: Omit<GemmParams, 'beta'>,
  sgd: SgdParams,
): void {
  const grad = new Float32Array(p.m * p.n);
  gemm(a, b, grad, { ...p, beta: 0 });
  sgdUpdate(param, grad, momentumBuffer, sgd);
}

/**
 * torch.optim.Adam / AdamW: AdamW first scales param by (1 − lr · weightDecay), Adam instead adds
 * weightDecay · param to the gradient; then m ← lerp(m, g, 1 − β1), v ← β2 · v + (1 − β2) · g²,
 * param −= (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps).
 */
export function adamUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  p: AdamParams,
): void {
  const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = p;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / biasCorrection1;
  for (let i = 0; i < param.length; i++) {
    let g = grad[i]!;
    if (weightDecay !== 0) {
      if (decoupled) param[i] = param[i]! * (1 - lr * weightDecay);
      else g += weightDecay * param[i]!;
    }
    m[i] = m[i]! + (1 - beta1) * (g - m[i]!);
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    const denom = Math.sqrt(v[i]!) / biasCorrection2Sqrt + eps;
    param[i] = param[i]! - (stepSize * m[i]!) / denom;
  }
}
