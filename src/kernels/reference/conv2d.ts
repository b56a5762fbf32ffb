/**
 * 2-d convolution (PyTorch's Conv2d: cross-correlation, zero padding, NCHW, weights [outC, inC, kh, kw]).
 *
 * Direct loops rather than im2col: each (kernel row, kernel column) pair walks whole output rows,
 * so the innermost loop is contiguous when stride is 1 and padding is handled once per row by
 * clipping the output range instead of testing every tap. Every output plane is accumulated in
 * float64 and rounded once.
 */
import type { Conv2dParams } from '../interface.js';

/** The output positions o in [0, outSize) whose input position o·stride − pad + tap lies in [0, inSize). */
export function validOutputRange(
  tap: number,
  stride: number,
  pad: number,
  inSize: number,
  outSize: number,
): [number, number] {
  // o·stride ≥ pad − tap  and  o·stride ≤ inSize − 1 + pad − tap
  const first = Math.max(0, Math.ceil((pad - tap) / stride));
  const last = Math.min(outSize - 1, Math.floor((inSize - 1 + pad - tap) / stride));
  return [first, last + 1];
}

/** y = conv(x, w) + bias. */
export function conv2dForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  y: Float32Array,
  p: Conv2dParams,
): void {
  const { n, c, h, w: width, outC, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const outPlane = outH * outW;
  const inPlane = h * width;
  const acc = new Float64Array(outPlane);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outC; o++) {
      acc.fill(bias ? bias[o]! : 0);
      for (let ci = 0; ci < c; ci++) {
        const xBase = (b * c + ci) * inPlane;
        const wBase = (o * c + ci) * kh * kw;
        for (let ki = 0; ki < kh; ki++) {
          const [ohStart, ohEnd] = validOutputRange(ki, strideH, padH, h, outH);
          for (let kj = 0; kj < kw; kj++) {
            const weight = w[wBase + ki * kw + kj]!;
            const [owStart, owEnd] = validOutputRange(kj, strideW, padW, width, outW);
            for (let oh = ohStart; oh < ohEnd; oh++) {
              const xRow = xBase + (oh * strideH - padH + ki) * width - padW + kj;
              const accRow = oh * outW;
              for (let ow = owStart; ow < owEnd; ow++) acc[accRow + ow]! += weight * x[xRow + ow * strideW]!;
            }
          }
        }
      }
      y.set(acc, (b * outC + o) * outPlane);
    }
  }
}

/** dx = ∂L/∂x: every input pixel gathers the weighted gradients of the outputs it fed. */
export function conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Conv2dParams): void {
  const { n, c, h, w: width, outC, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const outPlane = outH * outW;
  const inPlane = h * width;
  const acc = new Float64Array(inPlane);
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < c; ci++) {
      acc.fill(0);
      for (let o = 0; o < outC; o++) {
        const dyBase = (b * outC + o) * outPlane;
        const wBase = (o * c + ci) * kh * kw;
        for (let ki = 0; ki < kh; ki++) {
          const [ohStart, ohEnd] = validOutputRange(ki, strideH, padH, h, outH);
          for (let kj = 0; kj < kw; kj++) {
            const weight = w[wBase + ki * kw + kj]!;
            const [owStart, owEnd] = validOutputRange(kj, strideW, padW, width, outW);
            for (let oh = ohStart; oh < ohEnd; oh++) {
              const accRow = (oh * strideH - padH + ki) * width - padW + kj;
              const dyRow = dyBase + oh * outW;
              for (let ow = owStart; ow < owEnd; ow++) acc[accRow + ow * strideW]! += weight * dy[dyRow + ow]!;
            }
          }
        }
      }
      dx.set(acc, (b * c + ci) * inPlane);
    }
  }
}

/** dw = ∂L/∂w (summed over the batch) and dbias = Σ dy per output channel. */
export function conv2dBackwardFilter(
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  dbias: Float32Array | null,
  p: Conv2dParams,
): void {
  const { n, c, h, w: width, outC, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const outPlane = outH * outW;
  const inPlane = h * width;
  for (let o = 0; o < outC; o++) {
    for (let ci = 0; ci < c; ci++) {
      for (let ki = 0; ki < kh; ki++) {
        const [ohStart, ohEnd] = validOutputRange(ki, strideH, padH, h, outH);
        for (let kj = 0; kj < kw; kj++) {
          const [owStart, owEnd] = validOutputRange(kj, strideW, padW, width, outW);
          let total = 0;
          for (let b = 0; b < n; b++) {
            const xBase = (b * c + ci) * inPlane;
            const dyBase = (b * outC + o) * outPlane;
            for (let oh = ohStart; oh < ohEnd; oh++) {
              const xRow = xBase + (oh * strideH - padH + ki) * width - padW + kj;
              const dyRow = dyBase + oh * outW;
              for (let ow = owStart; ow < owEnd; ow++) total += dy[dyRow + ow]! * x[xRow + ow * strideW]!;
            }
          }
          dw[((o * c + ci) * kh + ki) * kw + kj] = total;
        }
      }
    }
    if (dbias) {
      let total = 0;
      for (let b = 0; b < n; b++) {
        const dyBase = (b * outC + o) * outPlane;
        for (let i = 0; i < outPlane; i++) total += dy[dyBase + i]!;
      }
      dbias[o] = total;
    }
  }
}
