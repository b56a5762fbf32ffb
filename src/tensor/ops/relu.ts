import { getKernels } from '../../kernels/index.js';
import { empty, recordOp, type Tensor } from '../tensor.js';
import { gradBuffer, requireFloat32 } from './util.js';

/** max(x, 0) elementwise; the gradient passes where the output is positive. */
export function relu(x: Tensor): Tensor {
  requireFloat32('relu', x, 'input');
  const kernels = getKernels();
  const out = empty(x.shape);
  kernels.reluForward(x.data, out.data);
  return recordOp('relu', out, [x], (g) => {
    const dx = gradBuffer(x.size);
    kernels.reluBackward(out.data, g, dx);
    return [dx];
  });
}
