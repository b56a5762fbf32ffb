/**
 * Streaming mean and covariance in float64.
 *
 * Rows arrive in batches. Each batch is centred on its own mean and its scatter (XᵀX of the centred
 * batch, one GEMM) is merged into the running totals with the pairwise update of Chan, Golub and
 * LeVeque (1979):  S = S_a + S_b + δδᵀ · n_a n_b / (n_a + n_b),  δ = mean_b − mean_a.
 * Centring per batch avoids the catastrophic cancellation of Σxxᵀ/n − μμᵀ when |μ| ≫ σ.
 */
import { resolveLinalg, type LinalgBackend } from './backend.js';
import { gemm } from './matrix.js';

/** The whole state: enough to resume, merge or cache an accumulation. */
export interface CovarianceState {
  readonly dim: number;
  readonly count: number;
  readonly mean: Float64Array;
  /** Σ (x − mean)(x − mean)ᵀ, dim×dim row-major. */
  readonly scatter: Float64Array;
}

/** Rows per internal chunk: bounds the float64 copy of a batch to about 32 MB. */
const CHUNK_VALUES = 1 << 22;

export class CovarianceAccumulator {
  readonly dim: number;
  private n = 0;
  private readonly runningMean: Float64Array;
  private readonly runningScatter: Float64Array;
  private readonly backend: LinalgBackend | undefined;

  constructor(dim: number, options: { backend?: LinalgBackend } = {}) {
    if (!Number.isSafeInteger(dim) || dim < 1)
      throw new Error(`CovarianceAccumulator: dimension must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.runningMean = new Float64Array(dim);
    this.runningScatter = new Float64Array(dim * dim);
    this.backend = options.backend;
    resolveLinalg(options.backend); // fail now, not on the first batch, if 'native' was asked for and is missing
  }

  static fromState(state: CovarianceState, options: { backend?: LinalgBackend } = {}): CovarianceAccumulator {
    const accumulator = new CovarianceAccumulator(state.dim, options);
    if (state.mean.length !== state.dim || state.scatter.length !== state.dim * state.dim) {
      throw new Error(
        `CovarianceAccumulator.fromState: mean has ${state.mean.length} and scatter ${state.scatter.length} values for dimension ${state.dim}`,
      );
    }
    accumulator.n = state.count;
    accumulator.runningMean.set(state.mean);
    accumulator.runningScatter.set(state.scatter);
    return accumulator;
  }

  /** Number of rows added so far. */
  get count(): number {
    return this.n;
  }

  /** Adds the rows of a row-major [rows, dim] batch. */
  addRows(values: Float32Array | Float64Array): void {
    if (values.length % this.dim !== 0) {
      throw new Error(
        `CovarianceAccumulator.addRows: ${values.length} values are not whole rows of dimension ${this.dim}`,
      );
    }
    const rows = values.length / this.dim;
    const chunkRows = Math.max(1, Math.floor(CHUNK_VALUES / this.dim));
    for (let start = 0; start < rows; start += chunkRows) {
      const end = Math.min(rows, start + chunkRows);
      this.addChunk(values.subarray(start * this.dim, end * this.dim), end - start);
    }
  }

  private addChunk(values: Float32Array | Float64Array, rows: number): void {
    if (rows === 0) return;
    const d = this.dim;
    const batchMean = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) batchMean[j]! += values[r * d + j]!;
    }
    for (let j = 0; j < d; j++) {
      batchMean[j]! /= rows;
      if (!Number.isFinite(batchMean[j]!))
        throw new Error(`CovarianceAccumulator.addRows: column ${j} of the batch has a non-finite value`);
    }
    const centred = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) centred[r * d + j] = values[r * d + j]! - batchMean[j]!;
    }
    const before = this.n;
    const total = before + rows;
    // S += X̃ᵀX̃ (the batch's own scatter), then the between-means term.
    gemm({ a: centred, b: centred, c: this.runningScatter, m: d, n: d, k: rows, transA: true, beta: 1 }, this.backend);
    const delta = new Float64Array(d);
    for (let j = 0; j < d; j++) delta[j] = batchMean[j]! - this.runningMean[j]!;
    const weight = (before * rows) / total;
    if (weight > 0) {
      for (let i = 0; i < d; i++) {
        const di = delta[i]! * weight;
        for (let j = 0; j < d; j++) this.runningScatter[i * d + j]! += di * delta[j]!;
      }
    }
    for (let j = 0; j < d; j++) this.runningMean[j]! += (delta[j]! * rows) / total;
    this.n = total;
  }

  /** Adds another accumulator's rows (same dimension). */
  merge(other: CovarianceAccumulator | CovarianceState): void {
    const state = other instanceof CovarianceAccumulator ? other.state() : other;
    if (state.dim !== this.dim) throw new Error(`CovarianceAccumulator.merge: dimension ${state.dim} into ${this.dim}`);
    if (state.count === 0) return;
    const d = this.dim;
    const total = this.n + state.count;
    const weight = (this.n * state.count) / total;
    for (let i = 0; i < d; i++) {
      const di = state.mean[i]! - this.runningMean[i]!;
      for (let j = 0; j < d; j++) {
        const dj = state.mean[j]! - this.runningMean[j]!;
        this.runningScatter[i * d + j]! += state.scatter[i * d + j]! + weight * di * dj;
      }
    }
    for (let j = 0; j < d; j++) this.runningMean[j]! += ((state.mean[j]! - this.runningMean[j]!) * state.count) / total;
    this.n = total;
  }

  mean(): Float64Array {
    return Float64Array.from(this.runningMean);
  }

  /** Σ (x − mean)(x − mean)ᵀ (a copy). */
  scatter(): Float64Array {
    return Float64Array.from(this.runningScatter);
  }

  /**
   * The covariance scatter / (count − ddof): ddof = 1 (default) is the unbiased sample covariance
   * (numpy.cov's default), ddof = 0 the population covariance.
   */
  covariance(ddof: 0 | 1 = 1): Float64Array {
    if (this.n - ddof <= 0)
      throw new Error(`CovarianceAccumulator: ${this.n} row(s) are too few for a covariance with ddof=${ddof}`);
    const out = new Float64Array(this.dim * this.dim);
    const scale = 1 / (this.n - ddof);
    for (let i = 0; i < out.length; i++) out[i] = this.runningScatter[i]! * scale;
    return out;
  }

  state(): CovarianceState {
    return { dim: this.dim, count: this.n, mean: this.mean(), scatter: this.scatter() };
  }
}

/** The covariance (ddof = 1) of the rows of a [rows, dim] matrix. */
export function covarianceOfRows(
  values: Float32Array | Float64Array,
  dim: number,
  backend?: LinalgBackend,
): Float64Array {
  const accumulator = new CovarianceAccumulator(dim, backend ? { backend } : {});
  accumulator.addRows(values);
  return accumulator.covariance();
}
