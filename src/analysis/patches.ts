/**
 * What a layer sees as one input vector x (docs/paper.md §2):
 * - a conv layer with [out, c, kh, kw] weights sees every kh×kw×c patch (stride 1, no padding),
 *   flattened in the weight's own order (c, kh, kw), so that a filter's response is w·x exactly;
 * - a fully connected layer with [out, d] weights sees the whole flattened input (NCHW order, as
 *   `flatten` feeds it).
 * Mixing the patch and filter orders silently destroys the alignment result, hence one definition here.
 */
import { formatShape, type Shape } from '../tensor/tensor.js';

export type InputGeometry =
  | { readonly kind: 'patches'; readonly channels: number; readonly kernel: readonly [number, number] }
  | { readonly kind: 'flat' };

/** The geometry a weight tensor implies: [out, c, kh, kw] → patches, [out, d] → flat. */
export function geometryFromWeightShape(shape: Shape, what = 'weight'): InputGeometry {
  if (shape.length === 4) return { kind: 'patches', channels: shape[1]!, kernel: [shape[2]!, shape[3]!] };
  if (shape.length === 2) return { kind: 'flat' };
  throw new Error(
    `${what} has shape ${formatShape(shape)}: expected [out, c, kh, kw] (conv) or [out, d] (fully connected)`,
  );
}

/** Short text for keys and messages: `patches 3x3x3` or `flat`. */
export function describeGeometry(geometry: InputGeometry): string {
  return geometry.kind === 'flat' ? 'flat' : `patches ${geometry.channels}x${geometry.kernel[0]}x${geometry.kernel[1]}`;
}

/** Length of one input vector for examples of `exampleShape` ([C, H, W] or [d]). */
export function inputDimension(geometry: InputGeometry, exampleShape: Shape): number {
  if (geometry.kind === 'flat') return exampleShape.reduce((a, b) => a * b, 1);
  const [c, h, w] = imageGeometry(geometry, exampleShape);
  if (geometry.kernel[0] > h || geometry.kernel[1] > w) {
    throw new Error(`a ${geometry.kernel[0]}×${geometry.kernel[1]} kernel does not fit images of ${h}×${w}`);
  }
  return c * geometry.kernel[0] * geometry.kernel[1];
}

/** Input vectors per example: 1 (flat) or the number of valid patch positions. */
export function vectorsPerExample(geometry: InputGeometry, exampleShape: Shape): number {
  if (geometry.kind === 'flat') return 1;
  const [, h, w] = imageGeometry(geometry, exampleShape);
  return (h - geometry.kernel[0] + 1) * (w - geometry.kernel[1] + 1);
}

function imageGeometry(
  geometry: Extract<InputGeometry, { kind: 'patches' }>,
  exampleShape: Shape,
): [number, number, number] {
  if (exampleShape.length !== 3)
    throw new Error(`patches need image examples [C, H, W], got ${formatShape(exampleShape)}`);
  const [c, h, w] = exampleShape as [number, number, number];
  if (c !== geometry.channels)
    throw new Error(`the layer's filters have ${geometry.channels} channel(s), the images ${c}`);
  return [c, h, w];
}

/**
 * Every kh×kw patch (stride 1, valid) of `count` NCHW images, as rows of a row-major
 * [count·outH·outW, c·kh·kw] float64 matrix. Row (b·outH + y)·outW + x holds the patch whose
 * top-left pixel is (y, x) of image b; column (ch·kh + dy)·kw + dx holds image[b, ch, y+dy, x+dx],
 * the same index as weight[o, ch, dy, dx] in the flattened filter.
 */
export function extractPatches(
  images: Float32Array | Float64Array,
  count: number,
  imageShape: readonly [number, number, number],
  kernel: readonly [number, number],
  out?: Float64Array,
): Float64Array {
  const [c, h, w] = imageShape;
  const [kh, kw] = kernel;
  if (images.length < count * c * h * w)
    throw new Error(`extractPatches: ${images.length} values hold fewer than ${count} images of ${c}×${h}×${w}`);
  if (kh > h || kw > w) throw new Error(`extractPatches: a ${kh}×${kw} kernel does not fit ${h}×${w} images`);
  const outH = h - kh + 1;
  const outW = w - kw + 1;
  const dim = c * kh * kw;
  const rows = count * outH * outW;
  const result = out ?? new Float64Array(rows * dim);
  if (result.length < rows * dim)
    throw new Error(`extractPatches: output holds ${result.length} values, need ${rows * dim}`);
  const plane = h * w;
  for (let b = 0; b < count; b++) {
    const image = b * c * plane;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let offset = ((b * outH + y) * outW + x) * dim;
        for (let ch = 0; ch < c; ch++) {
          for (let dy = 0; dy < kh; dy++) {
            const source = image + ch * plane + (y + dy) * w + x;
            for (let dx = 0; dx < kw; dx++) result[offset++] = images[source + dx]!;
          }
        }
      }
    }
  }
  return result;
}

/** The input vectors of a batch of examples under a geometry (patches, or the examples themselves). */
export function inputVectors(
  examples: Float32Array | Float64Array,
  count: number,
  exampleShape: Shape,
  geometry: InputGeometry,
): Float32Array | Float64Array {
  if (geometry.kind === 'flat') return examples.subarray(0, count * exampleShape.reduce((a, b) => a * b, 1));
  inputDimension(geometry, exampleShape); // validates channels and kernel fit
  return extractPatches(examples, count, exampleShape as [number, number, number], geometry.kernel);
}
