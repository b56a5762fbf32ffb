/**
 * The run config: one validated object with a default for every setting, read from JSON or YAML,
 * overridable field by field from the command line, and saved resolved in the run's folder.
 *
 * Every default that comes from the paper says where (docs/paper.md); defaults marked
 * **[default]** there are randlab's choices where the paper is silent.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { labelSpecSchema } from '../data/labels.js';
import { parseDatasetSpec } from '../data/spec.js';
import { listModels, MODEL_NAMES, type ModelName } from '../models/index.js';
import { INIT_SCHEMES } from '../nn/index.js';
import { scheduleConfigSchema } from '../optim/index.js';
import { DEVICES } from '../tensor/device.js';

/** docs/paper.md §3 Optimiser: a constant learning rate; 0.01 as in Fig. 2. */
export const DEFAULT_SCHEDULE = { type: 'constant', lr: 0.01 } as const;

/** Labels when the config gives none: the dataset's real labels. */
const DEFAULT_LABELS = { kind: 'real' } as const;

/** What `data.testLabels` may say: the test split's real labels, or labels drawn like the training labels. */
export const TEST_LABELS = ['real', 'as-train'] as const;
export type TestLabels = (typeof TEST_LABELS)[number];

const count = z.number().int().positive();
const seed = z.number().int().nonnegative();

const datasetSpec = z.string().superRefine((text, ctx) => {
  try {
    parseDatasetSpec(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const splitSchema = z
  .object({
    /** Seed of the permutation that cuts the parts (stream `split`). */
    seed: seed.default(0),
    /** docs/paper.md §3 protocol: 20k upstream, 25k downstream (the remaining 5k unused). */
    parts: z.record(z.string(), count).default({ upstream: 20_000, downstream: 25_000 }),
    /** The part this run trains on. */
    use: z.string(),
  })
  .strict()
  .superRefine((split, ctx) => {
    if (!Object.hasOwn(split.parts, split.use)) {
      ctx.addIssue({
        code: 'custom',
        path: ['use'],
        message: `'${split.use}' is not one of the parts (${Object.keys(split.parts).join(', ')})`,
      });
    }
  });

const dataSchema = z
  .object({
    /** Dataset spec (see src/data/spec.ts): cifar10, cifar100, imagefolder:<path>,size=N, gaussian:diag(...). */
    dataset: datasetSpec.default('cifar10'),
    /** Source split the training examples come from. */
    trainSplit: z.string().default('train'),
    /** Disjoint parts of the training split (the transfer protocol); null trains on the whole split. */
    split: splitSchema.nullable().default(null),
    /** Keep only the first n training examples (after the split), e.g. the 10k of docs/paper.md §3 "Init". */
    limit: count.nullable().default(null),
    /** real, random {k, seed} or noise {p, seed, k?} labels (src/data/labels.ts). */
    labels: labelSpecSchema.default(DEFAULT_LABELS),
    /** docs/paper.md §3 Optimiser: inputs standardised per channel (vectors are never changed). */
    preprocessing: z.enum(['standardize', 'unit', 'symmetric', 'none']).default('standardize'),
    /** docs/paper.md §3 Optimiser: no data augmentation. */
    augment: z
      .object({ cropPad: z.number().int().nonnegative().default(0), flip: z.boolean().default(false) })
      .strict()
      .default({ cropPad: 0, flip: false }),
    /** Split evaluated as "test"; null for none. */
    testSplit: z.string().nullable().default('test'),
    /** Evaluate on the first n test examples only; null for all. */
    testLimit: count.nullable().default(null),
    /**
     * Labels the test split is scored on: `real`, or `as-train`: drawn like the training labels (same kind,
     * k, p and seed, from a stream of their own; src/data/labels.ts `makeHeldOutLabels`), recorded as
     * `test_as_train/*`. With real training labels `as-train` is `real`.
     */
    testLabels: z.enum(TEST_LABELS).default('real'),
  })
  .strict()
  .superRefine((data, ctx) => {
    if (data.testLabels === 'as-train' && data.labels.kind !== 'real' && data.testSplit === data.trainSplit) {
      ctx.addIssue({
        code: 'custom',
        path: ['testLabels'],
        message:
          `'as-train' draws fresh labels for a held-out split, but data.testSplit '${data.testSplit}' is the ` +
          'training split (data.trainSplit), whose trained-on labels train/accuracy scores; choose another testSplit',
      });
    }
  });

const modelSchema = z
  .object({
    name: z.enum(MODEL_NAMES).default('cnn2'),
    /** Model-specific layer widths (see `randlab train --list-models`); default the paper's. */
    widths: z.array(count).optional(),
    /** VGG: BatchNorm after each conv (default true). */
    batchNorm: z.boolean().optional(),
    /** WRN: stem kernel size; docs/paper.md §3 Fig. 3 uses 5. */
    firstKernel: count.optional(),
    /** ResNet18: 'cifar' or 'imagenet' stem. */
    variant: z.enum(['cifar', 'imagenet']).optional(),
  })
  .strict()
  .superRefine((model, ctx) => {
    const info = listModels().find((m) => m.name === model.name)!;
    for (const option of ['batchNorm', 'firstKernel', 'variant'] as const) {
      if (model[option] !== undefined && !info.options.includes(option)) {
        const users = listModels()
          .filter((m) => m.options.includes(option))
          .map((m) => m.name);
        ctx.addIssue({
          code: 'custom',
          path: [option],
          message: `does not apply to ${model.name} (only to ${users.join(', ')})`,
        });
      }
    }
  });

const initFromSchema = z
  .object({
    /** A run in the same store whose checkpoint to start from. */
    run: z.string().optional(),
    /** Or a safetensors file (for example one written by PyTorch). */
    checkpoint: z.string().optional(),
    /** With `run`: the checkpoint at this step; default the run's last. */
    step: z.number().int().nonnegative().optional(),
    /** Only keys under these prefixes are taken (e.g. [conv1]: "pre-trained first layer only", Fig. 5); default all. */
    include: z.array(z.string()).optional(),
    /** docs/paper.md §3: rescale every taken tensor to the ℓ2 norm it had at initialisation (biases too). */
    rescale: z.boolean().default(true),
    /** docs/paper.md §3: replace the classifier head with a fresh one. */
    reinitHead: z.boolean().default(true),
  })
  .strict()
  .superRefine((from, ctx) => {
    if ((from.run === undefined) === (from.checkpoint === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of run or checkpoint' });
    if (from.step !== undefined && from.run === undefined)
      ctx.addIssue({ code: 'custom', path: ['step'], message: 'applies only with run' });
  });

const initSchema = z
  .object({
    /** docs/paper.md §3 Init: He (Kaiming) normal. */
    scheme: z.enum(INIT_SCHEMES).default('kaiming_normal'),
    /** docs/paper.md §3 Init: init_scale; default per model, see DEFAULT_INIT_SCALE. */
    scale: z.number().positive().optional(),
    /** Start from trained weights (the downstream phase of the transfer protocol). */
    from: initFromSchema.nullable().default(null),
  })
  .strict();

const optimizerSchema = z
  .object({
    /** docs/paper.md §3 Optimiser: SGD. */
    name: z.enum(['sgd', 'adam', 'adamw']).default('sgd'),
    /** docs/paper.md §3 Optimiser: momentum 0.9 (SGD only). */
    momentum: z.number().nonnegative().default(0.9),
    nesterov: z.boolean().default(false),
    /** docs/paper.md §3 Optimiser: no weight decay. */
    weightDecay: z.number().nonnegative().default(0),
    /** Adam/AdamW moment decay rates. */
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
  })
  .strict();

const trainingSchema = z
  .object({
    /** docs/paper.md §3 Optimiser: batch 256. */
    batchSize: count.default(256),
    /** Length of the run: iterations, or epochs of the training set (exactly one; default 40 epochs, Fig. 2). */
    iterations: count.optional(),
    epochs: count.optional(),
    dropLast: z.boolean().default(false),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.iterations !== undefined && t.epochs !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give iterations or epochs, not both' });
  });

const evalSchema = z
  .object({
    /** Test loss/accuracy and loss/accuracy on the whole training set every N iterations (and at the end). */
    every: count.default(500),
    /** Examples per evaluation batch (no effect on the numbers). */
    batchSize: count.default(1000),
    /** Evaluate the training set on its first n examples only; null for all of it. */
    trainLimit: count.nullable().default(null),
  })
  .strict();

export const runConfigSchema = z
  .object({
    /** Run id (folder name in the store); default `<model>-<labels>-<date>-<random>`. */
    name: z.string().optional(),
    /** Seed of the init, data-order, augmentation and dropout streams. */
    seed: seed.default(0),
    /**
     * Where training computes: cpu (the native kernels) or webgpu (the WGSL kernels on the process's
     * WebGPU adapter, docs/webgpu.md). Checkpoints are the same on both: a run resumes on either.
     */
    device: z.enum(DEVICES).default('cpu'),
    data: dataSchema.default(() => dataSchema.parse({})),
    model: modelSchema.default(() => modelSchema.parse({})),
    init: initSchema.default(() => initSchema.parse({})),
    optimizer: optimizerSchema.default(() => optimizerSchema.parse({})),
    /**
     * Learning-rate schedule (src/optim/schedules.ts); see DEFAULT_SCHEDULE. Cosine totalSteps defaults to the run's
     * length.
     */
    schedule: z.unknown().default(() => ({ ...DEFAULT_SCHEDULE })),
    training: trainingSchema.default(() => trainingSchema.parse({})),
    eval: evalSchema.default(() => evalSchema.parse({})),
    /** Batch loss/accuracy and images/s every N iterations. */
    log: z
      .object({ every: count.default(20) })
      .strict()
      .default({ every: 20 }),
    /** Checkpoint every N iterations and at the end; keep only the last one or all of them. */
    checkpoint: z
      .object({ every: count.default(500), keep: z.enum(['last', 'all']).default('last') })
      .strict()
      .default({ every: 500, keep: 'last' }),
  })
  .strict();

export type RunConfigInput = z.input<typeof runConfigSchema>;
type ParsedRunConfig = z.output<typeof runConfigSchema>;

/** Schedule settings; a cosine schedule may leave totalSteps out (it then anneals over the whole run). */
export type ScheduleSettings =
  | z.output<typeof scheduleConfigSchema>
  | (Omit<Extract<z.output<typeof scheduleConfigSchema>, { type: 'cosine' }>, 'totalSteps'> & {
      totalSteps?: undefined;
    });

/** A config with every default filled in: what a run saves and what the trainer reads. */
export interface RunConfig extends Omit<ParsedRunConfig, 'schedule' | 'init' | 'training'> {
  readonly init: ParsedRunConfig['init'] & { readonly scale: number };
  readonly training: ParsedRunConfig['training'] &
    (
      | { readonly iterations: number; readonly epochs?: undefined }
      | { readonly epochs: number; readonly iterations?: undefined }
    );
  readonly schedule: ScheduleSettings;
}

/**
 * init_scale when the config gives none. docs/paper.md §3 Init: 0.3 for cnn2 (He-normal × 1 with
 * momentum collapses); Fig. 20: FC nets use std 1/√fan_in, which is He-normal × 1/√2. The BatchNorm
 * networks train at the standard He init **[default]**.
 */
export const DEFAULT_INIT_SCALE: Readonly<Record<ModelName, number>> = {
  mlp: Math.SQRT1_2,
  cnn2: 0.3,
  vgg11: 1,
  vgg16: 1,
  resnet18: 1,
  'wrn-28-4': 1,
};

/** docs/paper.md §3 Fig. 2: 40 epochs when neither iterations nor epochs is given. */
export const DEFAULT_EPOCHS = 40;

/** Validates a raw config (from a file plus overrides) and fills in every default. */
export function resolveConfig(raw: unknown, source = 'config'): RunConfig {
  const parsed = runConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new Error(formatConfigError(source, parsed.error.issues, raw));
  const config = parsed.data;
  const training =
    config.training.iterations === undefined && config.training.epochs === undefined
      ? { ...config.training, epochs: DEFAULT_EPOCHS }
      : config.training;
  const schedule = resolveSchedule(config.schedule, source, raw);
  const init = { ...config.init, scale: config.init.scale ?? DEFAULT_INIT_SCALE[config.model.name] };
  return { ...config, init, training, schedule } as RunConfig;
}

function resolveSchedule(raw: unknown, source: string, whole: unknown): ScheduleSettings {
  const openCosine = isObject(raw) && raw.type === 'cosine' && raw.totalSteps === undefined;
  const parsed = scheduleConfigSchema.safeParse(openCosine ? { ...raw, totalSteps: 1 } : raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ ...issue, path: ['schedule', ...issue.path] }));
    throw new Error(formatConfigError(source, issues, whole));
  }
  if (openCosine && parsed.data.type === 'cosine') return { ...parsed.data, totalSteps: undefined };
  return parsed.data;
}

/** The schedule with a cosine's missing totalSteps set to the run's length. */
export function completeSchedule(
  schedule: ScheduleSettings,
  totalIterations: number,
): z.output<typeof scheduleConfigSchema> {
  if (schedule.type === 'cosine' && schedule.totalSteps === undefined)
    return { ...schedule, totalSteps: totalIterations };
  return schedule;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads a config file: `.json` as JSON, anything else as YAML. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read config ${path}: ${(error as Error).message}`);
  }
  try {
    return extname(path).toLowerCase() === '.json' ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
  } catch (error) {
    throw new Error(
      `${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}

// --- overrides ---------------------------------------------------------------------------------

/** One settable field of the config, for command-line flags and help. */
export interface ConfigField {
  /** Dotted path, e.g. `optimizer.lr` → flag `--optimizer.lr`. */
  readonly path: string;
  readonly type: 'number' | 'integer' | 'boolean' | 'string' | 'number[]' | 'string[]' | 'object';
  /** Allowed values of an enum. */
  readonly choices?: readonly string[];
  readonly nullable: boolean;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
};

/**
 * The settable fields, derived from the schema (so a new config field gets its flag by itself).
 * Objects that are unions or nullable (labels, schedule, data.split, init.from) can also be set
 * whole from JSON/YAML text (`--data.labels '{kind: random, k: 10, seed: 0}'`); the fields of all
 * their variants can be set one by one (`--schedule.lr 0.1`).
 */
export const CONFIG_FIELDS: readonly ConfigField[] = deriveFields();

function deriveFields(): ConfigField[] {
  const fields: ConfigField[] = [];
  const root = z.toJSONSchema(runConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  // The schedule is validated by src/optim's schema after the cosine default is applied: walk that one.
  root.properties!.schedule = z.toJSONSchema(scheduleConfigSchema, { io: 'input' }) as JsonSchema;
  for (const [key, child] of Object.entries(root.properties!)) collectFields(child, key, fields);
  return fields;
}

/** The non-null alternatives of a schema node; nullable as `anyOf [T, null]` or as `type: [T, 'null']`. */
function alternatives(node: JsonSchema): { variants: JsonSchema[]; nullable: boolean } {
  if (Array.isArray(node.type)) {
    const types = node.type.filter((t) => t !== 'null');
    return { variants: types.map((type) => ({ ...node, type })), nullable: types.length < node.type.length };
  }
  const all = node.anyOf ?? node.oneOf ?? [node];
  const variants = all.filter((v) => v.type !== 'null');
  return { variants, nullable: variants.length < all.length };
}

function collectFields(node: JsonSchema, path: string, into: ConfigField[]): void {
  const { variants, nullable } = alternatives(node);
  const objects = variants.filter((v) => v.type === 'object' && v.properties);
  if (objects.length === 0) {
    into.push({ path, nullable, ...leafType(variants[0]!) });
    return;
  }
  if (nullable || objects.length > 1) into.push({ path, type: 'object', nullable });
  const names = [...new Set(objects.flatMap((v) => Object.keys(v.properties!)))];
  for (const name of names) {
    const options = objects.map((v) => v.properties![name]).filter((p): p is JsonSchema => p !== undefined);
    const consts = options.map((p) => p.const).filter((c): c is string => typeof c === 'string');
    if (consts.length === options.length)
      into.push({ path: `${path}.${name}`, type: 'string', choices: consts, nullable: false });
    else collectFields(options[0]!, `${path}.${name}`, into);
  }
}

function leafType(node: JsonSchema): Pick<ConfigField, 'type' | 'choices'> {
  if (node.enum) return { type: 'string', choices: node.enum.map(String) };
  switch (node.type) {
    case 'integer':
    case 'number':
    case 'boolean':
    case 'string':
      return { type: node.type };
    case 'array': {
      const item = node.items ?? node.prefixItems?.[0];
      return { type: item?.type === 'string' ? 'string[]' : 'number[]' };
    }
    default:
      return { type: 'object' };
  }
}

/** Parses a flag's text into the field's type; errors name the flag. */
export function parseFieldValue(field: ConfigField, text: string): unknown {
  const flag = `--${field.path}`;
  if (field.nullable && (text === 'null' || text === 'none')) return null;
  switch (field.type) {
    case 'number':
    case 'integer': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`${flag}: expected a number, got '${text}'`);
      return value;
    }
    case 'boolean':
      if (text === 'true' || text === '1' || text === 'yes') return true;
      if (text === 'false' || text === '0' || text === 'no') return false;
      throw new Error(`${flag}: expected true or false, got '${text}'`);
    case 'number[]':
      return text.split(',').map((item) => {
        const value = Number(item);
        if (item.trim() === '' || !Number.isFinite(value))
          throw new Error(`${flag}: expected comma-separated numbers, got '${text}'`);
        return value;
      });
    case 'string[]':
      return text === '' ? [] : text.split(',').map((item) => item.trim());
    case 'string':
      return text;
    case 'object':
      try {
        return parseYaml(text) as unknown;
      } catch (error) {
        throw new Error(`${flag}: expected a JSON/YAML value, got '${text}': ${(error as Error).message}`);
      }
  }
}

/** Sets `value` at the dotted path of a plain-object config (creating objects on the way). */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/**
 * The config file's object with the overrides applied. Whole objects are set before their fields
 * (`--data.labels '{…}' --data.labels.k 5` edits the new labels), a kind before its siblings.
 */
export function applyOverrides(
  base: unknown,
  overrides: ReadonlyArray<readonly [string, unknown]>,
): Record<string, unknown> {
  if (base !== undefined && base !== null && !isObject(base))
    throw new Error('a config must be an object (a mapping of fields)');
  const result = structuredClone(base ?? {});
  // A labels or schedule kind switched from the command line starts from a fresh object, so the
  // old kind's fields (e.g. p of noise labels) cannot leak into the new one.
  const order = (path: string): number => path.split('.').length * 2 + (isKindPath(path) ? 0 : 1);
  const ordered = [...overrides].sort(([a], [b]) => order(a) - order(b));
  for (const [path, value] of ordered) {
    // A field of a union object that the file leaves out edits that object's default.
    for (const [union, fallback] of UNION_DEFAULTS) {
      if (path.startsWith(`${union}.`) && valueAt(result, union.split('.')) === undefined)
        setPath(result, union, { ...fallback });
    }
    if (isKindPath(path) && valueAt(result, path.split('.')) !== value)
      setPath(result, path.slice(0, path.lastIndexOf('.')), {});
    setPath(result, path, value);
  }
  return result;
}

const UNION_DEFAULTS: ReadonlyArray<readonly [string, object]> = [
  ['schedule', DEFAULT_SCHEDULE],
  ['data.labels', DEFAULT_LABELS],
];

function isKindPath(path: string): boolean {
  return path === 'schedule.type' || path === 'data.labels.kind';
}

// --- errors ------------------------------------------------------------------------------------

interface IssueLike {
  readonly path: PropertyKey[];
  readonly message: string;
  readonly code?: string;
  readonly keys?: readonly string[];
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** One line per problem: the field, what is wrong, the allowed values and what was given. */
export function formatConfigError(source: string, issues: readonly IssueLike[], raw: unknown): string {
  const lines = issues.map((issue) => {
    const field = issue.path.map(String).join('.') || '(config)';
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      const known = knownKeysAt(issue.path.map(String).join('.'));
      return `${issue.keys.map((key) => (field === '(config)' ? key : `${field}.${key}`)).join(', ')}: unknown field${issue.keys.length > 1 ? 's' : ''}${known ? ` (known here: ${known})` : ''}`;
    }
    // zod's messages already list an enum's allowed values; add what was given.
    const given = valueAt(raw, issue.path);
    return `${field}: ${issue.message}${given === undefined ? '' : `; got ${JSON.stringify(given)}`}`;
  });
  return `invalid run config ${source}:\n  ${lines.join('\n  ')}`;
}

function knownKeysAt(prefix: string): string {
  const depth = prefix === '' ? 0 : prefix.split('.').length;
  const keys = new Set(
    CONFIG_FIELDS.filter((f) => (prefix === '' ? true : f.path.startsWith(`${prefix}.`)))
      .map((f) => f.path.split('.')[depth])
      .filter((k): k is string => k !== undefined),
  );
  return [...keys].join(', ');
}
