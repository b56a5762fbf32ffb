import { getKernels } from '../../kernels/index.js';
import { empty, Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireFloat32 } from './util.js';
import { reluOnWebGpu } from './webgpu/elementwise.js';

/** max(x, 0) elementwise; the gradient passes where the output is positive. */
export function relu(x: Tensor): Tensor {
  requireFloat32('relu', x, 'input');
  if (onWebGpu('relu', x)) return reluOnWebGpu(x);
  const out = empty(x.shape);
  getKernels().reluForward(x.data, out.data);
  return recordRelu(x, out);
}

/**
 * relu computed over x's own buffer: x's values are replaced, and the result is a view of x.
 * Saves an activation-sized buffer and the writes to fresh memory (which cost a read as well).
 * Only for an x that nothing reads afterwards, the backward rule of the op that produced it
 * included: convolution, linear and batch norm do not read their outputs.
 */
export function reluInPlace(x: Tensor): Tensor {
  requireFloat32('reluInPlace', x, 'input');
  if (onWebGpu('reluInPlace', x)) return reluOnWebGpu(x); // a dispatch may not write what it reads
  const data = x.data;
  getKernels().reluForward(data, data);
  return recordRelu(x, new Tensor(data, x.shape, { base: x.base ?? x }));
}

/** The backward rule of out = relu(x): it reads only out, so x's buffer may be out's. */
function recordRelu(x: Tensor, out: Tensor): Tensor {
  const kernels = getKernels();
  return recordOp('relu', out, [x], (g, writable) => {
    const dx = writable ? g : gradBuffer(x.size);
    kernels.reluBackward(out.data, g, dx);
    return [dx];
  });
}
