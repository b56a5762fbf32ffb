/**
 * The kernel interface: every numerical routine the engine runs on the training hot path.
 *
 * A backend is a plain object implementing `Kernels`. Two exist: the TypeScript reference
 * (`src/kernels/reference/`, readable, the specification) and the native C++ addon
 * (`native/`, fast). Ops in `src/tensor/ops/` call kernels only through this interface, so a
 * backend can be swapped without touching ops.
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

/** Geometry of a 2-d convolution; outH = floor((h + 2·padH − kh) / strideH) + 1, likewise outW. */
export interface Conv2dParams {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly outC: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly outH: number;
  readonly outW: number;
}

/** Geometry of a 2-d pooling window (padding counts as −∞ for max and as 0 for average,
 *  whose divisor is always kh·kw as PyTorch's count_include_pad=True). */
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

export interface Kernels {
  readonly name: BackendName;

  // --- dense linear algebra -------------------------------------------------------------
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, p: GemmParams): void;
  /** y[r, :] += bias for every row r of y [rows, cols]. */
  addRowVector(y: Float32Array, bias: Float32Array, rows: number, cols: number): void;
  /** out[j] = Σ_r x[r, j] (beta = 0) or out[j] += … (beta = 1). */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number, beta: 0 | 1): void;

  // --- convolution ----------------------------------------------------------------------
  /** y = conv(x, w) + bias; bias may be null. */
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, p: Conv2dParams): void;
  /** dx = ∂L/∂x given dy (overwrites dx). */
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Conv2dParams): void;
  /** dw = ∂L/∂w and dbias = ∂L/∂bias (dbias may be null); both overwritten. */
  conv2dBackwardFilter(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    dbias: Float32Array | null,
    p: Conv2dParams,
  ): void;

  // --- pooling --------------------------------------------------------------------------
  /** indices[o] = flat index (within its n,c plane, ih·w + iw) of the max that produced y[o]. */
  maxPool2dForward(x: Float32Array, y: Float32Array, indices: Int32Array, p: Pool2dParams): void;
  maxPool2dBackward(dy: Float32Array, indices: Int32Array, dx: Float32Array, p: Pool2dParams): void;
  avgPool2dForward(x: Float32Array, y: Float32Array, p: Pool2dParams): void;
  avgPool2dBackward(dy: Float32Array, dx: Float32Array, p: Pool2dParams): void;

  // --- batch normalisation ---------------------------------------------------------------
  /** Training mode: normalise with batch statistics, save mean and 1/sqrt(var+eps) (biased var)
   *  for backward, and update running mean / running var (unbiased var) in place. */
  batchNormTrainForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    saveMean: Float32Array,
    saveInvStd: Float32Array,
    runningMean: Float32Array,
    runningVar: Float32Array,
    p: BatchNormParams,
  ): void;
  /** Eval mode: normalise with the running statistics. */
  batchNormEvalForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    runningMean: Float32Array,
    runningVar: Float32Array,
    y: Float32Array,
    p: BatchNormParams,
  ): void;
  /** Backward of the training-mode forward; dx, dgamma, dbeta are overwritten. */
  batchNormBackward(
    x: Float32Array,
    dy: Float32Array,
    gamma: Float32Array,
    saveMean: Float32Array,
    saveInvStd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    p: BatchNormParams,
  ): void;

  // --- elementwise and reductions ---------------------------------------------------------
  reluForward(x: Float32Array, y: Float32Array): void;
  /** dx = dy where y > 0, else 0 (y is the relu output). */
  reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** out = a + b. */
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** y += alpha · x. */
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;
  /** out = alpha · x. */
  scale(x: Float32Array, alpha: number, out: Float32Array): void;
  /** out = a ⊙ b. */
  mul(a: Float32Array, b: Float32Array, out: Float32Array): void;
  fill(x: Float32Array, value: number): void;
  /** Σ x, accumulated in float64. */
  sum(x: Float32Array): number;
  /** Σ x², accumulated in float64. */
  sumSquares(x: Float32Array): number;
  /** x[n, c, hw] → y[n, c] (mean over hw). */
  globalAvgPoolForward(x: Float32Array, y: Float32Array, nc: number, hw: number): void;
  globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, nc: number, hw: number): void;

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
  /** dlogits = scale · (probs − onehot(labels)); scale is usually upstream-grad / rows. */
  softmaxCrossEntropyBackward(
    probs: Float32Array,
    labels: Int32Array,
    dlogits: Float32Array,
    rows: number,
    classes: number,
    scale: number,
  ): void;

  // --- optimiser updates (in place, PyTorch semantics) ------------------------------------
  sgdUpdate(param: Float32Array, grad: Float32Array, momentumBuffer: Float32Array | null, p: SgdParams): void;
  /** sgdUpdate of param [m, n] with the gradient alpha · op(A) · op(B) (a weight gradient gᵀ·x),
   *  computed without storing it: the native kernel updates each tile of param as the GEMM finishes it. */
  gemmSgdUpdate(
    a: Float32Array,
    b: Float32Array,
    param: Float32Array,
    momentumBuffer: Float32Array | null,
    p: Omit<GemmParams, 'beta'>,
    sgd: SgdParams,
  ): void;
  adamUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, p: AdamParams): void;

  // --- memory -----------------------------------------------------------------------------
  /** A zero-filled buffer for long-lived tensor state (parameters, gradients, optimizer buffers).
   *  The native backend places buffers of 2 MiB and more in transparent huge pages (Linux), which
   *  the fused weight update's strided walk over weights and momentum needs; Node frees those only
   *  after a collection *and* a turn of its event loop, hence not for transient tensors. */
  allocateFloat32(length: number): Float32Array;
}

/** Every kernel name, so tests can check that a backend implements them all. */
export type KernelName = Exclude<keyof Kernels, 'name'>;
