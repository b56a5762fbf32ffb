/**
 * Training runs of an experiment, built on `src/runs`: a spec whose id comes from its config (and
 * from the description of any custom initialiser or probe), which starts the run with `trainRun` or,
 * when an earlier attempt was interrupted, continues it exactly with `resumeRun`; and readers of the
 * finished runs' curves and weights.
 */
import { readCheckpoint } from '../checkpoint/index.js';
import type { Classifier } from '../models/index.js';
import { latestCheckpoint, listCheckpoints } from '../runs/checkpoints.js';
import type { RunConfigInput } from '../runs/config.js';
import type { RunStore } from '../runs/store.js';
import {
  METRICS,
  resumeRun,
  trainRun,
  type InitializeContext,
  type Probe,
  type ProgressEvent,
} from '../runs/trainer.js';
import type { CurvePoint } from '../report/stats.js';
import type { Device, Tensor } from '../tensor/index.js';
import { runId, type RunContext, type RunSpec, type SettingValue } from './recipe.js';

export interface Initializer {
  /** What it does, with its settings: part of the run's identity. */
  readonly describe: Readonly<Record<string, SettingValue>>;
  readonly apply: (
    model: Classifier,
    context: InitializeContext & { readonly runContext: RunContext },
  ) => void | Promise<void>;
}

export interface ProbeFactory {
  readonly describe: Readonly<Record<string, SettingValue>>;
  readonly create: (context: RunContext) => Promise<Probe>;
}

export interface TrainSpecInput {
  readonly condition: string;
  readonly seed: number;
  /** The run config without `name` (the experiment names the run). `init.from.run` names a planned run's id. */
  readonly config: RunConfigInput;
  readonly dependsOn?: readonly string[];
  readonly initializer?: Initializer;
  readonly probes?: readonly ProbeFactory[];
  /** Extra settings shown in the report (the config's main settings are shown anyway). */
  readonly settings?: Readonly<Record<string, SettingValue>>;
}

/** The settings of a config that a reader of the report wants to see, flattened. */
function configSettings(config: RunConfigInput): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  const data = config.data ?? {};
  if (data.dataset !== undefined) out.dataset = data.dataset;
  if (data.trainSplit !== undefined) out.trainSplit = data.trainSplit;
  if (data.split)
    out.split = `${data.split.use} of ${Object.entries(data.split.parts ?? {})
      .map(([k, v]) => `${k}:${v}`)
      .join('/')}`;
  if (data.limit != null) out.limit = data.limit;
  if (data.labels) out.labels = data.labels.kind === 'random' ? `random k=${data.labels.k}` : data.labels.kind;
  if (config.model?.name) out.model = config.model.name;
  if (config.model?.widths) out.widths = config.model.widths.join(',');
  if (config.init?.scale !== undefined) out.initScale = config.init.scale;
  if (config.init?.from)
    out.from = `${config.init.from.run ?? config.init.from.checkpoint}${config.init.from.include ? ` [${config.init.from.include.join(',')}]` : ''} rescale=${config.init.from.rescale ?? true}`;
  const schedule = config.schedule as { lr?: number } | undefined;
  if (schedule?.lr !== undefined) out.lr = schedule.lr;
  if (config.optimizer?.momentum !== undefined) out.momentum = config.optimizer.momentum;
  if (config.training?.batchSize !== undefined) out.batch = config.training.batchSize;
  if (config.training?.epochs !== undefined) out.epochs = config.training.epochs;
  if (config.training?.iterations !== undefined) out.iterations = config.training.iterations;
  return out;
}

export function trainSpec(input: TrainSpecInput): RunSpec {
  const dependsOn = [...(input.dependsOn ?? [])];
  const fromRun = input.config.init?.from?.run;
  if (fromRun !== undefined && !dependsOn.includes(fromRun)) dependsOn.push(fromRun);
  const id = runId(input.condition, input.seed, {
    kind: 'train',
    config: input.config,
    initializer: input.initializer?.describe ?? null,
    probes: (input.probes ?? []).map((p) => p.describe),
  });
  const settings: Record<string, SettingValue> = {
    ...configSettings(input.config),
    ...(input.initializer ? prefixed('init', input.initializer.describe) : {}),
    ...(input.settings ?? {}),
  };
  return {
    id,
    condition: input.condition,
    seed: input.seed,
    kind: 'train',
    dependsOn,
    settings,
    config: input.config,
    async execute(context) {
      const { store } = context;
      const probes = await Promise.all((input.probes ?? []).map((factory) => factory.create(context)));
      const options = {
        store,
        device: runDevice(context, probes.length > 0, id),
        dataDir: context.dataRoot,
        probes,
        onProgress: progressLogger(context),
        ...(context.signal ? { signal: context.signal } : {}),
        ...(input.initializer
          ? {
              initialize: (model: Classifier, initContext: InitializeContext) =>
                input.initializer!.apply(model, { ...initContext, runContext: context }),
            }
          : {}),
      };
      const existing = store.getRun(id);
      if (existing?.status === 'running' || existing?.status === 'stopped') await resumeRun(id, options);
      // The stored config says where the run trained; the id, from input.config, does not depend on it.
      else await trainRun({ ...input.config, name: id, device: options.device }, options);
    },
  };
}

/**
 * The experiment's device, except for a run with probes: they read the model on the host at every
 * evaluation (see trainer.ts), so such a run trains on the cpu, and the log says so.
 */
function runDevice(context: RunContext, hasProbes: boolean, id: string): Device {
  const device = context.device ?? 'cpu';
  if (device === 'cpu' || !hasProbes) return device;
  context.log(`    ${id}: trains on the cpu: its probes read the model on the host at every evaluation`);
  return 'cpu';
}

function prefixed(prefix: string, values: Readonly<Record<string, SettingValue>>): Record<string, SettingValue> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}.${k}`, v]));
}

function progressLogger(context: RunContext): (event: ProgressEvent) => void {
  return (event) => {
    context.onProgress?.(event);
    if (event.type === 'start') {
      context.log(
        `    ${event.runId}: ${event.resumed ? `resuming at step ${event.step}` : 'starting'} (${event.totalSteps} steps, ${event.trainExamples} examples)`,
      );
    } else if (event.type === 'eval') {
      const acc = event.metrics[METRICS.trainAccuracy];
      if (acc !== undefined) context.log(`    ${event.runId}: step ${event.step} train accuracy ${acc.toFixed(3)}`);
    } else if (event.type === 'end' && event.status === 'stopped') {
      context.log(`    ${event.runId}: stopped at step ${event.step}, checkpointed`);
    }
  };
}

/** A metric of a finished run as a curve (steps with a finite value only). */
export function readCurve(store: RunStore, id: string, metric: string = METRICS.trainAccuracy): CurvePoint[] {
  return store
    .metrics(id, { name: metric })
    .filter((row) => row.value !== null && Number.isFinite(row.value))
    .map((row) => ({ iteration: row.step, value: row.value! }));
}

/** Whether a planned run has finished. */
export function isFinished(store: RunStore, id: string): boolean {
  return store.getRun(id)?.status === 'finished';
}

/** The weights of a run at its last checkpoint (or at `step`), by state_dict key. */
export function readWeights(store: RunStore, id: string, step?: number): Map<string, Tensor> {
  const dir = store.checkpointDir(id);
  const checkpoint = step === undefined ? latestCheckpoint(dir) : listCheckpoints(dir).find((c) => c.step === step);
  if (!checkpoint)
    throw new Error(`run ${id} has no checkpoint${step === undefined ? '' : ` at step ${step}`} in ${dir}`);
  return readCheckpoint(checkpoint.prefix).modelState;
}

/** One weight tensor of a run's last checkpoint, or an error naming the keys it has. */
export function readWeight(store: RunStore, id: string, key: string, step?: number): Tensor {
  const weights = readWeights(store, id, step);
  const tensor = weights.get(key);
  if (!tensor)
    throw new Error(`run ${id}: no tensor '${key}' in its checkpoint (keys: ${[...weights.keys()].join(', ')})`);
  return tensor;
}
