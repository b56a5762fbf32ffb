/**
 * The kernel interface: every numerical routine the engine runs on the training hot path.
 *
 * A host backend is a plain object implementing `Kernels`. Two exist: the TypeScript reference
 * (`src/kernels/reference/`, readable, the specification) and the native C++ addon
 * (`native/`, fast). The WebGPU device implements the part of it that every device shares,
 * `DeviceKernels`, over device arrays (`src/kernels/webgpuKernels.ts`). Ops in `src/tensor/ops/`
 * call kernels only through these interfaces, so a backend can be swapped without touching ops.
 *
 * Conventions shared by every kernel:
 * - Buffers are dense, row-major, float32 unless stated; images are NCHW; conv weights are
 *   [outC, inC, kh, kw] (PyTorch layout).
 * - Kernels write outputs in place into caller-provided buffers and never allocate results.
 *   Output buffers may hold garbage on entry unless a kernel says it accumulates.
 * - Kernels trust their parameters: shape validation happens once, in the op, with errors that
 *   name the shapes. A kernel may assume buffer lengths match its parameters.
 */

/** C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C. op(X) = Xᵀ when trans is set.
 *  A is stored [m,k] (or [k,m] if transA), B is [k,n] (or [n,k] if transB). beta = 0 ignores C's contents. */
export interface GemmParams {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly alpha: number;
  readonly beta: number;
}

/** Geometry of a 2-d pooling window over the n·c planes of h×w; outH = floor((h + 2·padH − kh) / strideH) + 1,
 *  likewise outW (padding counts as −∞ for max and as 0 for average, whose divisor is always kh·kw as
 *  PyTorch's count_include_pad=True). */
export interface Pool2dParams {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly outH: number;
  readonly outW: number;
}

/** Geometry of a 2-d convolution from c to outC channels: the window of Pool2dParams (zero padding). */
export interface Conv2dParams extends Pool2dParams {
  readonly outC: number;
}

/** Batch norm over x of shape [n, c, spatial] (spatial = h·w for 2-d, 1 for 1-d). */
export interface BatchNormParams {
  readonly n: number;
  readonly c: number;
  readonly spatial: number;
  readonly eps: number;
  /** PyTorch convention: running = (1 − momentum) · running + momentum · batch. */
  readonly momentum: number;
}

export interface SgdParams {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** True on the first step: PyTorch initialises the momentum buffer to the gradient itself. */
  readonly firstStep: boolean;
}

export interface AdamParams {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** AdamW: decay the weights directly (decoupled) instead of adding weightDecay·param to the gradient. */
  readonly decoupled: boolean;
  /** 1-based step count, for bias correction. */
  readonly step: number;
}

export type BackendName = 'ts' | 'native';

/**
 * The kernels every device implements, over its own buffers: F holds float32 values, I int32 ones
 * (Float32Array and Int32Array on the host; DeviceArray on WebGPU, src/kernels/webgpuKernels.ts).
 * Ops are written once over this interface (src/tensor/ops/storage.ts picks the device's).
 */
export interface DeviceKernels<F, I> {
  // --- dense linear algebra -------------------------------------------------------------
  gemm(a: F, b: F, c: F, p: GemmParams): void;
  /** y[r, :] += bias for every row r of y [rows, cols]. */
  addRowVector(y: F, bias: F, rows: number, cols: number): void;
  /** out[j] = Σ_r x[r, j] (beta = 0) or out[j] += … (beta = 1). */
  sumRows(x: F, out: F, rows: number, cols: number, beta: 0 | 1): void;

  // --- convolution ----------------------------------------------------------------------
  /** y = conv(x, w) + bias; bias may be null. */
  conv2dForward(x: F, w: F, bias: F | null, y: F, p: Conv2dParams): void;
  /** dx = ∂L/∂x given dy (overwrites dx). */
  conv2dBackwardData(dy: F, w: F, dx: F, p: Conv2dParams): void;
  /** dw = ∂L/∂w and dbias = ∂L/∂bias (dbias may be null); both overwritten. */
  conv2dBackwardFilter(x: F, dy: F, dw: F, dbias: F | null, p: Conv2dParams): void;

  // --- pooling --------------------------------------------------------------------------
  /** indices[o] = flat index (within its n,c plane, ih·w + iw) of the max that produced y[o]. */
  maxPool2dForward(x: F, y: F, indices: I, p: Pool2dParams): void;
  maxPool2dBackward(dy: F, indices: I, dx: F, p: Pool2dParams): void;
  avgPool2dForward(x: F, y: F, p: Pool2dParams): void;
  avgPool2dBackward(dy: F, dx: F, p: Pool2dParams): void;

  // --- batch normalisation ---------------------------------------------------------------
  /** Training mode: normalise with batch statistics, save mean and 1/sqrt(var+eps) (biased var)
   *  for backward, and update running mean / running var (unbiased var) in place. */
  batchNormTrainForward(
    x: F,
    gamma: F,
    beta: F,
    y: F,
    saveMean: F,
    saveInvStd: F,
    runningMean: F,
    runningVar: F,
    p: BatchNormParams,
  ): void;
  /** Eval mode: normalise with the running statistics. */
  batchNormEvalForward(x: F, gamma: F, beta: F, runningMean: F, runningVar: F, y: F, p: BatchNormParams): void;
  /** Backward of the training-mode forward; dx, dgamma, dbeta are overwritten. */
  batchNormBackward(
    x: F,
    dy: F,
    gamma: F,
    saveMean: F,
    saveInvStd: F,
    dx: F,
    dgamma: F,
    dbeta: F,
    p: BatchNormParams,
  ): void;

  // --- elementwise and reductions ---------------------------------------------------------
  reluForward(x: F, y: F): void;
  /** dx = dy where y > 0, else 0 (y is the relu output). */
  reluBackward(y: F, dy: F, dx: F): void;
  /** out = a + b. */
  add(a: F, b: F, out: F): void;
  /** y += alpha · x. */
  axpy(alpha: number, x: F, y: F): void;
  /** out = alpha · x. */
  scale(x: F, alpha: number, out: F): void;
  /** out = a ⊙ b. */
  mul(a: F, b: F, out: F): void;
  fill(x: F, value: number): void;
  /** x[n, c, hw] → y[n, c] (mean over hw). */
  globalAvgPoolForward(x: F, y: F, nc: number, hw: number): void;
  globalAvgPoolBackward(dy: F, dx: F, nc: number, hw: number): void;

  // --- loss -------------------------------------------------------------------------------
  /** dlogits = scale · (probs − onehot(labels)); scale is usually upstream-grad / rows. */
  softmaxCrossEntropyBackward(probs: F, labels: I, dlogits: F, rows: number, classes: number, scale: number): void;

  // --- optimiser updates (in place, PyTorch semantics) ------------------------------------
  sgdUpdate(param: F, grad: F, momentumBuffer: F | null, p: SgdParams): void;
  /** sgdUpdate of param [m, n] with the gradient alpha · op(A) · op(B) (a weight gradient gᵀ·x),
   *  computed without storing it: the native kernel updates each tile of param as the GEMM finishes it. */
  gemmSgdUpdate(a: F, b: F, param: F, momentumBuffer: F | null, p: Omit<GemmParams, 'beta'>, sgd: SgdParams): void;
  adamUpdate(param: F, grad: F, m: F, v: F, p: AdamParams): void;
}

/** The host backends (the TypeScript reference and the native addon): the device kernels on host
 *  arrays, plus those that return a number to the host or allocate host memory. */
export interface Kernels extends DeviceKernels<Float32Array, Int32Array> {
  readonly name: BackendName;

  // --- reductions to a host number --------------------------------------------------------
  /** Σ x, accumulated in float64. */
  sum(x: Float32Array): number;
  /** Σ x², accumulated in float64. */
  sumSquares(x: Float32Array): number;

  // --- loss -------------------------------------------------------------------------------
  /** Row-wise softmax of logits [rows, classes] into probs; returns the mean over rows of
   *  −log softmax(logits)[label] (computed stably, in float64). Labels are trusted to be in range. */
  softmaxCrossEntropyForward(
    logits: Float32Array,
    labels: Int32Array,
    probs: Float32Array,
    rows: number,
    classes: number,
  ): number;

  // --- memory -----------------------------------------------------------------------------
  /** A zero-filled buffer for long-lived tensor state (parameters, gradients, optimizer buffers).
   *  The native backend places buffers of 2 MiB and more in transparent huge pages (Linux), which
   *  the fused weight update's strided walk over weights and momentum needs; Node frees those only
   *  after a collection *and* a turn of its event loop, hence not for transient tensors. */
  allocateFloat32(length: number): Float32Array;
}

/** Every kernel name, so tests can check that a backend implements them all. */
export type KernelName = Exclude<keyof Kernels, 'name'>;
