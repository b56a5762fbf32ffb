/**
 * The native addon built for arm64 against the TypeScript reference, run by an arm64 Node under
 * qemu (tools/arm64-check.sh sets that up). Plain JavaScript over dist/ because vitest and tsx
 * need esbuild's x86 binary. Checks: the addon loads and runs its generic path; gemm on odd shapes
 * in all four transpose combinations; three models trained for three steps (backwardAndStep, so
 * the fused SGD step too) give the same losses and parameters on both backends.
 */
import { loadNativeKernels } from '../dist/kernels/native.js';
import { referenceKernels } from '../dist/kernels/reference/index.js';
import { setKernels } from '../dist/kernels/index.js';
import { createModel } from '../dist/models/index.js';
import { SGD } from '../dist/optim/index.js';
import { Rng, crossEntropy, labels, tensor, tidy } from '../dist/tensor/index.js';

const TOLERANCE = 1e-4;
let failures = 0;

/** @param {boolean} ok @param {string} what */
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

/**
 * max |a − b| over max(1, max |b|).
 * @param {ArrayLike<number>} a
 * @param {ArrayLike<number>} b
 */
function relativeError(a, b) {
  let worst = 0,
    scale = 1;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(/** @type {number} */ (a[i]) - /** @type {number} */ (b[i])));
    scale = Math.max(scale, Math.abs(/** @type {number} */ (b[i])));
  }
  return Number.isNaN(worst) ? Infinity : worst / scale;
}

const { addon, kernels, reason } = loadNativeKernels();
if (!addon || !kernels) throw new Error(`arm64-check: the addon did not load: ${reason}`);
/** @param {string} name @returns {unknown} what the addon's function of that name returns */
const callAddon = (name) => /** @type {() => unknown} */ (addon[name])();
const simd = String(callAddon('simdLevel'));
console.log(
  `arch ${process.arch}, simd ${simd}, gemm ${String(callAddon('gemmKernelName'))}, threads ${String(callAddon('threadCount'))}`,
);
check(process.arch === 'arm64' ? simd === 'generic' : true, 'arm64 runs the generic path');

const rng = new Rng(7, 'arm64-check');
/** @param {number} n */
const random = (n) => {
  const a = new Float32Array(n);
  rng.fillNormal(a);
  return a;
};
/** @type {Array<[number, number, number]>} */
const gemmShapes = [
  [1, 1, 1],
  [17, 33, 65],
  [13, 47, 300],
  [130, 10, 70],
  [200, 300, 150],
  [5, 7, 5000],
  [80, 1010, 520],
];
/** @type {Array<[boolean, boolean]>} */
const transposes = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
for (const [m, n, k] of gemmShapes) {
  for (const [transA, transB] of transposes) {
    const a = random(m * k),
      b = random(k * n),
      c0 = random(m * n);
    const p = { m, n, k, transA, transB, alpha: 0.5, beta: 0.25 };
    const native = Float32Array.from(c0),
      reference = Float32Array.from(c0);
    kernels.gemm(a, b, native, p);
    referenceKernels.gemm(a, b, reference, p);
    const error = relativeError(native, reference);
    check(
      error <= 1e-5,
      `gemm ${m}×${n}×${k} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}: relative error ${error.toExponential(1)}`,
    );
  }
}

/**
 * @typedef {{ inputShape: number[], widths?: number[], variant?: 'cifar' | 'imagenet' }} CheckOptions
 * @typedef {{ losses: number[], parameters: Array<[string, Float32Array]> }} TrainResult
 */

/**
 * Losses and final parameters of `steps` SGD steps on one random batch, on the active backend.
 * @param {import('../dist/models/index.js').ModelName} name
 * @param {CheckOptions} options
 * @param {number} batch
 * @param {number} steps
 * @returns {TrainResult}
 */
function train(name, options, batch, steps) {
  const model = createModel(name, { numClasses: 10, ...options, rng: new Rng(0, 'init') });
  const optimizer = new SGD(model.namedParameters(), { lr: 0.01, momentum: 0.9 });
  const data = new Rng(1, 'data');
  const x = new Float32Array(batch * options.inputShape.reduce((s, d) => s * d, 1));
  data.fillNormal(x);
  const y = Int32Array.from({ length: batch }, () => data.int(10));
  /** @type {number[]} */
  const losses = [];
  for (let s = 0; s < steps; s++) {
    optimizer.zeroGrad();
    tidy(() => {
      const loss = crossEntropy(model.call(tensor(x, [batch, ...options.inputShape])), labels(y));
      losses.push(/** @type {number} */ (loss.data[0]));
      optimizer.backwardAndStep(loss);
    });
  }
  return { losses, parameters: model.namedParameters().map(([key, t]) => [key, Float32Array.from(t.data)]) };
}

/** @type {Array<[import('../dist/models/index.js').ModelName, CheckOptions, number]>} */
const trainingChecks = [
  ['mlp', { inputShape: [3, 8, 8], widths: [300, 64] }, 16],
  ['cnn2', { inputShape: [3, 12, 12] }, 8],
  ['resnet18', { inputShape: [3, 16, 16], variant: 'cifar' }, 2],
];
for (const [name, options, batch] of trainingChecks) {
  setKernels(kernels);
  const native = train(name, options, batch, 3);
  setKernels(referenceKernels);
  const reference = train(name, options, batch, 3);
  const lossError = relativeError(native.losses, reference.losses);
  check(
    lossError <= TOLERANCE,
    `${name}: losses ${native.losses.map((l) => l.toFixed(4)).join(', ')} (relative error ${lossError.toExponential(1)})`,
  );
  let worst = 0,
    worstKey = '';
  native.parameters.forEach(([key, values], i) => {
    const error = relativeError(values, reference.parameters[i]?.[1] ?? []);
    if (error > worst) {
      worst = error;
      worstKey = key;
    }
  });
  check(
    worst <= TOLERANCE,
    `${name}: ${native.parameters.length} parameter tensors after 3 steps (worst ${worstKey}: ${worst.toExponential(1)})`,
  );
}

console.log(failures === 0 ? 'arm64-check: all checks passed' : `arm64-check: ${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
