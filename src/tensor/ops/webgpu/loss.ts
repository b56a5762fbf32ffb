/** Cross-entropy and accuracy on the WebGPU device: results stay one-element device tensors until read. */
import {
  accuracy,
  mulByScalar,
  softmaxCrossEntropyBackward,
  softmaxCrossEntropyForward,
  type DeviceArray,
} from '../../../kernels/webgpu/index.js';
import { recordOp } from '../../autograd.js';
import { emptyOnWebGpu, type Tensor } from '../../tensor.js';
import { deviceGrad, gpuOf } from './common.js';

/** The mean softmax cross-entropy as a device tensor of shape []: not checked for finiteness until it is read. */
export function crossEntropyOnWebGpu(logits: Tensor, labels: Tensor, rows: number, classes: number): Tensor {
  const gpu = gpuOf(logits);
  const probs = emptyOnWebGpu([rows, classes]);
  const out = emptyOnWebGpu([]);
  softmaxCrossEntropyForward(
    gpu,
    logits.deviceArray,
    labels.deviceArray,
    probs.deviceArray,
    out.deviceArray,
    rows,
    classes,
  );
  return recordOp<DeviceArray>('crossEntropy', out, [logits], (g) => {
    const dlogits = deviceGrad(logits.size);
    // The upstream gradient stays on the device: scale by 1/rows here, by g there.
    softmaxCrossEntropyBackward(gpu, probs.deviceArray, labels.deviceArray, dlogits, rows, classes, 1 / rows);
    mulByScalar(gpu, g, dlogits);
    return [dlogits];
  });
}

export function accuracyOnWebGpu(logits: Tensor, labels: Tensor, rows: number, classes: number): Tensor {
  const out = emptyOnWebGpu([]);
  accuracy(gpuOf(logits), logits.deviceArray, labels.deviceArray, out.deviceArray, rows, classes);
  return out;
}
