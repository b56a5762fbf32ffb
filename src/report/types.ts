/**
 * What an experiment hands to the report: measurements per seed, the claims they are to decide, figures,
 * tables and the record of every run. Recipes build it from their runs (`src/experiments`); `src/report`
 * turns it into verdicts, HTML and PNGs without knowing which recipe produced it.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Claim } from './claims.js';

/** One measured number: `metric` of `condition` for one seed. Claims are rules over these. */
export interface Measurement {
  readonly condition: string;
  readonly seed: number;
  readonly metric: string;
  readonly value: number;
}

export type RunStatus = 'finished' | 'failed' | 'pending';

/** One run of the experiment, as the report's run table lists it. */
export interface RunRecord {
  readonly id: string;
  readonly condition: string;
  readonly seed: number;
  readonly status: RunStatus;
  /** Wall-clock seconds of the run (all attempts together), when known. */
  readonly seconds?: number;
  readonly error?: string;
  /** The run's settings, flattened to `key → value` for the table. */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
}

/** A chart, given as a Vega-Lite spec with its data inline. */
export interface ChartFigure {
  readonly kind: 'chart';
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

/** A grid of raster images (eigen-images, filters), given as PNG bytes. */
export interface ImageFigure {
  readonly kind: 'images';
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly panels: readonly { readonly label: string; readonly png: Uint8Array }[];
}

export type Figure = ChartFigure | ImageFigure;

export interface Table {
  readonly id: string;
  readonly title: string;
  readonly caption?: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

/** A sanity check of the experiment (e.g. "training from scratch learns"), computed from its runs. */
export interface RecipeCheck {
  readonly name: string;
  readonly passed: boolean;
  /** A required check must pass for the experiment to be trusted (e.g. training from scratch learns);
   *  an informative one only describes the runs (e.g. how far a short pre-training fit random labels). */
  readonly required: boolean;
  readonly detail: string;
}

/** A setting of the experiment's scale, with why it has that value. */
export interface SettingRow {
  readonly name: string;
  readonly value: string;
  readonly why: string;
}

/** A scale's time budget for one recipe: e.g. the cpu scale's 2 hours on 2 cores. */
export interface SeedBudget {
  readonly scale: string;
  readonly seconds: number;
}

export interface ReportData {
  /** Recipe name, e.g. `fig5-controls`. */
  readonly experiment: string;
  readonly title: string;
  /** Where in docs/paper.md the experiment is described, e.g. `§3 Fig. 5`. */
  readonly paperReference: string;
  readonly description: string;
  readonly scale: string;
  readonly seeds: readonly number[];
  /** The scale's time budget, against which the seeds an inconclusive claim needs are costed. */
  readonly budget?: SeedBudget;
  readonly settings: readonly SettingRow[];
  readonly runs: readonly RunRecord[];
  /** The claims of docs/paper.md the experiment tests (its recipe declares them); evaluated on `measurements`. */
  readonly claims: readonly Claim[];
  readonly measurements: readonly Measurement[];
  readonly figures: readonly Figure[];
  readonly tables: readonly Table[];
  readonly checks: readonly RecipeCheck[];
  readonly notes: readonly string[];
}
