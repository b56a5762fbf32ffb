/**
 * The transfer protocol's analysis, shared by the recipes that compare downstream training speed
 * (Fig. 1, Fig. 5, deeper layers, specialisation, ImageNet): curves of the finished downstream runs,
 * per-seed speed measurements, the speed tables and the training-curve figure.
 */
import { bandChart } from '../../report/charts.js';
import { transferMeasurements, transferTables, type SeedCurve } from '../../report/transfer.js';
import type { Figure, Measurement, Table } from '../../report/types.js';
import type { RunStore } from '../../runs/store.js';
import type { RunSpec } from '../recipe.js';
import { isFinished, readCurve } from '../train.js';

export interface TransferAnalysis {
  readonly curves: SeedCurve[];
  readonly measurements: Measurement[];
  readonly tables: Table[];
  readonly figure: Figure | null;
}

/** Downstream training-accuracy curves of finished runs, keyed by their condition (renamed by `rename`). */
export function downstreamCurves(store: RunStore, specs: readonly RunSpec[], rename: (condition: string) => string = (c) => c): SeedCurve[] {
  return specs
    .filter((spec) => isFinished(store, spec.id))
    .map((spec) => ({ condition: rename(spec.condition), seed: spec.seed, points: readCurve(store, spec.id) }))
    .filter((curve) => curve.points.length >= 2);
}

export function analyseTransfer(
  curves: SeedCurve[],
  options: { baseline: string; fixedIterations: readonly number[]; what: string; figureId: string; figureTitle: string; caption: string; tableIdPrefix?: string },
): TransferAnalysis {
  if (curves.length === 0) return { curves, measurements: [], tables: [], figure: null };
  const transferOptions = { fixedIterations: options.fixedIterations, thresholds: [0.5, 0.8, 0.9], baseline: options.baseline, what: options.what, ...(options.tableIdPrefix ? { tableIdPrefix: options.tableIdPrefix } : {}) };
  const measurements = transferMeasurements(curves, transferOptions);
  const tables = transferTables(curves, measurements, transferOptions);
  const points = curves.flatMap((curve) => curve.points.map((p) => ({ series: curve.condition, seed: curve.seed, x: p.iteration, y: p.value })));
  const figure: Figure = {
    kind: 'chart',
    id: options.figureId,
    title: options.figureTitle,
    caption: `${options.caption} Lines: mean over seeds; bands: 95% t-interval.`,
    spec: bandChart(points, { xTitle: 'iteration', yTitle: 'train accuracy', yDomain: [0, 1] }),
  };
  return { curves, measurements, tables, figure };
}
