import { Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { elementwiseGrad, storageFor, type OpStorage } from './storage.js';
import { requireFloat32 } from './util.js';

/** max(x, 0) elementwise; the gradient passes where the output is positive. */
export function relu(x: Tensor): Tensor {
  requireFloat32('relu', x, 'input');
  const s = storageFor('relu', x);
  const out = s.empty(x.shape);
  s.kernels.reluForward(s.floats(x), s.floats(out));
  return recordRelu(s, x, out);
}

/**
 * relu computed over x's own buffer: x's values are replaced, and the result is a view of x.
 * Saves an activation-sized buffer and the writes to fresh memory (which cost a read as well).
 * Only for an x that nothing reads afterwards, the backward rule of the op that produced it
 * included: convolution, linear and batch norm do not read their outputs. On a device whose
 * kernels may not write what they read (WebGPU), it is relu.
 */
export function reluInPlace(x: Tensor): Tensor {
  requireFloat32('reluInPlace', x, 'input');
  const s = storageFor('reluInPlace', x);
  if (!s.writesInPlace) return relu(x);
  const data = s.floats(x);
  s.kernels.reluForward(data, data);
  return recordRelu(s, x, new Tensor(data, x.shape, { base: x.base ?? x }));
}

/** The backward rule of out = relu(x): it reads only out, so x's buffer may be out's. */
function recordRelu<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, out: Tensor): Tensor {
  const kernels = s.kernels;
  return recordOp<F>('relu', out, [x], (g, writable) => {
    const dx = elementwiseGrad(s, g, writable, x.size);
    kernels.reluBackward(s.floats(out), g, dx);
    return [dx];
  });
}
