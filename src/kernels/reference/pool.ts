/**
 * Pooling, as PyTorch's MaxPool2d / AvgPool2d (ceil_mode=False, count_include_pad=True) and the
 * global average pool at the end of a ResNet.
 */
import type { Pool2dParams } from '../interface.js';

/** Max pool. Padding counts as −∞; ties keep the first maximum in row-major window order; a NaN
 *  wins (PyTorch propagates NaN). indices[o] is the winner's flat index ih·w + iw in its plane. */
export function maxPool2dForward(x: Float32Array, y: Float32Array, indices: Int32Array, p: Pool2dParams): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const inPlane = h * w;
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padH;
      const ihFirst = Math.max(hStart, 0);
      const ihEnd = Math.min(hStart + kh, h);
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padW;
        const iwFirst = Math.max(wStart, 0);
        const iwEnd = Math.min(wStart + kw, w);
        let best = -Infinity;
        let bestIndex = ihFirst * w + iwFirst;
        for (let ih = ihFirst; ih < ihEnd; ih++) {
          for (let iw = iwFirst; iw < iwEnd; iw++) {
            const value = x[xBase + ih * w + iw]!;
            if (value > best || Number.isNaN(value)) {
              best = value;
              bestIndex = ih * w + iw;
            }
          }
        }
        const o = (plane * outH + oh) * outW + ow;
        y[o] = best;
        indices[o] = bestIndex;
      }
    }
  }
}

/** Each input gathers the gradients of the outputs whose window it won (overlapping windows add up). */
export function maxPool2dBackward(dy: Float32Array, indices: Int32Array, dx: Float32Array, p: Pool2dParams): void {
  const { n, c, h, w, outH, outW } = p;
  const inPlane = h * w;
  const outPlane = outH * outW;
  const acc = new Float64Array(inPlane);
  for (let plane = 0; plane < n * c; plane++) {
    acc.fill(0);
    const oBase = plane * outPlane;
    for (let i = 0; i < outPlane; i++) acc[indices[oBase + i]!]! += dy[oBase + i]!;
    dx.set(acc, plane * inPlane);
  }
}

/** Average pool; padded positions count as zeros, so the divisor is always kh·kw. */
export function avgPool2dForward(x: Float32Array, y: Float32Array, p: Pool2dParams): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const inPlane = h * w;
  const divisor = kh * kw;
  for (let plane = 0; plane < n * c; plane++) {
    const xBase = plane * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padH;
      const ihEnd = Math.min(hStart + kh, h);
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padW;
        const iwEnd = Math.min(wStart + kw, w);
        let total = 0;
        for (let ih = Math.max(hStart, 0); ih < ihEnd; ih++) {
          for (let iw = Math.max(wStart, 0); iw < iwEnd; iw++) total += x[xBase + ih * w + iw]!;
        }
        y[(plane * outH + oh) * outW + ow] = total / divisor;
      }
    }
  }
}

/** dx = 0, then each output spreads dy / (kh·kw) over the inputs of its window. */
export function avgPool2dBackward(dy: Float32Array, dx: Float32Array, p: Pool2dParams): void {
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const inPlane = h * w;
  const divisor = kh * kw;
  const acc = new Float64Array(inPlane);
  for (let plane = 0; plane < n * c; plane++) {
    acc.fill(0);
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * strideH - padH;
      const ihEnd = Math.min(hStart + kh, h);
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * strideW - padW;
        const iwEnd = Math.min(wStart + kw, w);
        const share = dy[(plane * outH + oh) * outW + ow]! / divisor;
        for (let ih = Math.max(hStart, 0); ih < ihEnd; ih++) {
          for (let iw = Math.max(wStart, 0); iw < iwEnd; iw++) acc[ih * w + iw]! += share;
        }
      }
    }
    dx.set(acc, plane * inPlane);
  }
}

/** x[nc, hw] → y[nc]: the mean of each plane, summed in float64. */
export function globalAvgPoolForward(x: Float32Array, y: Float32Array, nc: number, hw: number): void {
  for (let plane = 0; plane < nc; plane++) {
    let total = 0;
    const base = plane * hw;
    for (let i = 0; i < hw; i++) total += x[base + i]!;
    y[plane] = total / hw;
  }
}

/** dx[plane, i] = dy[plane] / hw. */
export function globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, nc: number, hw: number): void {
  for (let plane = 0; plane < nc; plane++) {
    const share = dy[plane]! / hw;
    dx.fill(share, plane * hw, (plane + 1) * hw);
  }
}
