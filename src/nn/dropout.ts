import { dropout, type Rng, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export interface DropoutOptions {
  /** The generator for the masks; otherwise set by `setDropoutRng` on the model. */
  readonly rng?: Rng;
}

/** Zeroes each element with probability p in training mode and scales the rest by 1/(1−p). */
export class Dropout extends Module {
  private rng: Rng | null;

  constructor(
    readonly p: number,
    options: DropoutOptions = {},
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
    this.rng = options.rng ?? null;
  }

  override describe(): string {
    return `Dropout(p=${this.p})`;
  }

  protected override useDropoutRng(rng: Rng): void {
    this.rng = rng;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (!this.rng) {
      throw new Error(
        `${this.path || 'Dropout'}: no random generator for the dropout masks; call model.setDropoutRng(new Rng(seed, 'dropout')) or pass { rng }`,
      );
    }
    return dropout(x, this.p, { training: true, rng: this.rng });
  }
}
