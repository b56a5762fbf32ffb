/**
 * Training runs: the run config, the run store (SQLite index + a folder per run), the trainer with
 * exact resume, evaluation, and training-step benchmarks. See docs/runs.md.
 */
export {
  runConfigSchema,
  resolveConfig,
  readConfigFile,
  applyOverrides,
  formatConfigError,
  CONFIG_FIELDS,
  TEST_LABELS,
  DEFAULT_INIT_SCALE,
  DEFAULT_EPOCHS,
  type RunConfig,
  type RunConfigInput,
  type TestLabels,
} from './config.js';
export {
  RunStore,
  resolveStoreRoot,
  RUN_STATUSES,
  type RunStatus,
  type RunRecord,
  type MetricRow,
  type ArtifactRecord,
} from './store.js';
export { listCheckpoints, latestCheckpoint, checkpointAt, readInitNorms, type RunCheckpoint } from './checkpoints.js';
export { prepareRunData, scoredLabels, type RunData, type DataLocation } from './data.js';
export { evaluate, type EvalResult, type EvalOptions } from './evaluate.js';
export {
  trainRun,
  resumeRun,
  Trainer,
  buildModel,
  buildOptimizer,
  initializeFrom,
  checkInputFits,
  DivergenceError,
  METRICS,
  testMetricNames,
  type Probe,
  type ProgressEvent,
  type TrainOptions,
  type RunResult,
  type InitializeContext,
} from './trainer.js';
export { benchTrainingStep, checkStepMemory, BENCH_MODELS, type StepBenchResult } from './bench.js';
