/**
 * Checkpoints: everything needed to resume a run exactly.
 *
 *   <path>.safetensors        the model's state_dict: PyTorch keys, layouts and dtypes (int buffers
 *                             as I64), so `torch.nn.Module.load_state_dict(strict=True)` accepts it;
 *                             its `__metadata__` holds the run config that produced it (key
 *                             `randlab_run_config`, JSON), so the file describes itself wherever it goes
 *   <path>.optim.safetensors  optimiser moment buffers, key `<parameter>.<buffer>` (if an optimiser is saved)
 *   <path>.state.json         optimiser settings and step counts, RNG states, caller's extra data
 *
 * All files are written to temp files and fsynced before any is renamed into place; state.json is
 * renamed last. Every file carries the save's id, so a set torn by a crash between renames is
 * detected on load instead of resuming from mismatched parts.
 *
 * Loading refuses non-finite values (NaN, ±Inf) naming the file and the tensor: a run never saves
 * them (its last checkpoint before diverging is finite), and loaded they would surface only as a NaN
 * loss far from their cause.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { Module, StateDict } from '../nn/module.js';
import type { OptimizerState, ParameterState } from '../optim/optimizer.js';
import type { RngState } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic, writeFilesAtomic } from '../io/atomic.js';
import { encodeSafetensors, readSafetensors, type SafetensorsEntry } from './safetensors.js';

const FORMAT = 'randlab-checkpoint';
const VERSION = 1;
const ID_KEY = 'randlab_checkpoint_id';
/** What write errors call the files of a save. */
const WHAT = 'checkpoint';
/** safetensors metadata values are strings: the config is stored as JSON text. */
const CONFIG_KEY = 'randlab_run_config';

/** What a checkpoint needs from an optimiser. */
export interface CheckpointableOptimizer {
  stateDict(): OptimizerState;
  loadStateDict(state: OptimizerState): void;
}

export interface CheckpointInput {
  /** A model, or host copies of its state (a webgpu model's, downloaded: Module.readStateDict). */
  readonly model: Pick<Module, 'stateDict'>;
  readonly optimizer?: Pick<CheckpointableOptimizer, 'stateDict'>;
  readonly rngStates?: Readonly<Record<string, RngState>>;
  /** Any JSON-serialisable value (step number, config hash, metrics…). */
  readonly extra?: unknown;
  /**
   * The resolved run config that produced the weights (JSON-serialisable). It is stored in the weights
   * file itself, the one file that travels alone (to PyTorch, to `randlab analyze`, to another machine).
   */
  readonly config?: unknown;
}

export interface CheckpointData {
  readonly id: string;
  readonly modelState: StateDict;
  readonly optimizerState: OptimizerState | null;
  readonly rngStates: Record<string, RngState>;
  readonly extra: unknown;
  /** The run config stored with the weights; null when the save had none (older checkpoints too). */
  readonly config: unknown;
}

/** A state_dict file: randlab's weights file of a checkpoint, or one written by PyTorch. */
export interface StateDictFile {
  readonly state: StateDict;
  /** The run config stored with the weights; null for files written without one (PyTorch, older randlab). */
  readonly config: unknown;
}

export function checkpointFiles(path: string): { model: string; optimizer: string; state: string } {
  return { model: `${path}.safetensors`, optimizer: `${path}.optim.safetensors`, state: `${path}.state.json` };
}

/** True when a complete checkpoint was saved at `path` (its state.json, written last, exists). */
export function checkpointExists(path: string): boolean {
  return existsSync(checkpointFiles(path).state);
}

const hyperparametersSchema = z.record(z.string(), z.union([z.number(), z.boolean()]));
const rngStateSchema = z
  .object({ seed: z.number().int().nonnegative(), stream: z.string(), position: z.number().int().nonnegative() })
  .strict();
const stateFileSchema = z
  .object({
    format: z.literal(FORMAT),
    version: z.literal(VERSION),
    id: z.string().min(1),
    model: z.object({ file: z.string(), keys: z.array(z.string()) }).strict(),
    optimizer: z
      .object({
        file: z.string(),
        kind: z.string(),
        hyperparameters: hyperparametersSchema,
        stepCount: z.number().int().nonnegative(),
        params: z.record(
          z.string(),
          z.object({ step: z.number().int().nonnegative(), buffers: z.array(z.string()) }).strict(),
        ),
      })
      .strict()
      .nullable(),
    rngStates: z.record(z.string(), rngStateSchema),
    extra: z.unknown(),
  })
  .strict();
type StateFile = z.infer<typeof stateFileSchema>;

function optimizerBufferKey(parameter: string, buffer: string): string {
  return `${parameter}.${buffer}`;
}

/** int32 tensors of a state_dict are int64 in PyTorch (num_batches_tracked): store them as I64. */
function modelEntries(state: StateDict): Map<string, Tensor | SafetensorsEntry> {
  return new Map([...state].map(([key, t]) => [key, t.dtype === 'int32' ? { tensor: t, dtype: 'I64' as const } : t]));
}

/** Write a state_dict alone, as PyTorch's tools expect it (int counters as I64), atomically. */
export function writeStateDict(path: string, state: StateDict, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(modelEntries(state), { format: 'pt', ...metadata }), 'state_dict');
}

function configMetadata(path: string, config: unknown): Record<string, string> {
  if (config === undefined) return {};
  const json = JSON.stringify(config);
  if (json === undefined) throw new Error(`saveCheckpoint ${path}: the run config is not JSON-serialisable`);
  return { [CONFIG_KEY]: json };
}

/** The run config in a weights file's metadata, or null if it has none. */
function configFromMetadata(file: string, metadata: Record<string, string>): unknown {
  const json = metadata[CONFIG_KEY];
  if (json === undefined) return null;
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new Error(`${file}: __metadata__.${CONFIG_KEY} is not valid JSON: ${(error as Error).message}`);
  }
}

export function saveCheckpoint(path: string, input: CheckpointInput): void {
  const files = checkpointFiles(path);
  const id = randomUUID();
  const modelState = input.model.stateDict();
  const optimizerState = input.optimizer?.stateDict() ?? null;
  const metadata = { format: 'pt', [ID_KEY]: id, ...configMetadata(path, input.config) };
  const pending = [{ path: files.model, content: encodeSafetensors(modelEntries(modelState), metadata), what: WHAT }];
  let optimizerSection: StateFile['optimizer'] = null;
  if (optimizerState) {
    const buffers = new Map<string, Tensor>();
    const params: Record<string, { step: number; buffers: string[] }> = {};
    for (const [name, state] of Object.entries(optimizerState.params)) {
      params[name] = { step: state.step, buffers: Object.keys(state.buffers) };
      for (const [key, t] of Object.entries(state.buffers)) buffers.set(optimizerBufferKey(name, key), t);
    }
    optimizerSection = {
      file: basename(files.optimizer),
      kind: optimizerState.kind,
      hyperparameters: optimizerState.hyperparameters,
      stepCount: optimizerState.stepCount,
      params,
    };
    pending.push({ path: files.optimizer, content: encodeSafetensors(buffers, { [ID_KEY]: id }), what: WHAT });
  }
  const stateFile: StateFile = {
    format: FORMAT,
    version: VERSION,
    id,
    model: { file: basename(files.model), keys: [...modelState.keys()] },
    optimizer: optimizerSection,
    rngStates: { ...(input.rngStates ?? {}) },
    extra: input.extra ?? null,
  };
  const json = JSON.stringify(stateFile, null, 2);
  if (json === undefined) throw new Error(`saveCheckpoint ${path}: extra data is not JSON-serialisable`);
  writeFilesAtomic([...pending, { path: files.state, content: `${json}\n`, what: WHAT }]);
}

function readStateFile(path: string): StateFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`checkpoint ${path}: cannot read it as JSON: ${(error as Error).message}`);
  }
  const parsed = stateFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new Error(`checkpoint ${path}: invalid state file: ${issues}`);
  }
  return parsed.data;
}

/** x·0 is 0 for every finite x and NaN for NaN and ±Inf: one multiply-add per value on the common path. */
function allFinite(values: Float32Array): boolean {
  let probe = 0;
  for (let i = 0; i < values.length; i++) probe += values[i]! * 0;
  return probe === 0;
}

function countNonFinite(values: Float32Array): { nan: number; infinite: number } {
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) nan++;
    else if (v === Infinity || v === -Infinity) infinite++;
  }
  return { nan, infinite };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun} value${count === 1 ? '' : 's'}`;
}

/** Throws naming `file` and each tensor that holds NaN or ±Inf, with how many. */
function requireFinite(file: string, tensors: ReadonlyMap<string, Tensor>): void {
  const problems: string[] = [];
  for (const [key, t] of tensors) {
    if (t.dtype !== 'float32' || allFinite(t.data)) continue;
    const { nan, infinite } = countNonFinite(t.data);
    const counts = [nan > 0 ? plural(nan, 'NaN') : null, infinite > 0 ? plural(infinite, 'infinite') : null];
    problems.push(`tensor '${key}' holds ${counts.filter((c) => c !== null).join(' and ')} (of ${t.size})`);
  }
  if (problems.length > 0)
    throw new Error(
      `checkpoint ${file}: ${problems.join('; ')}; randlab saves only finite weights, so the file is damaged or was written elsewhere`,
    );
}

function checkSameSave(file: string, metadata: Record<string, string>, state: StateFile, statePath: string): void {
  if (metadata[ID_KEY] !== state.id) {
    throw new Error(
      `checkpoint is inconsistent: ${file} belongs to save ${metadata[ID_KEY] ?? '(none)'} but ${statePath} to save ${state.id} (was a save interrupted?)`,
    );
  }
}

/** Read a checkpoint without applying it. */
export function readCheckpoint(path: string): CheckpointData {
  const files = checkpointFiles(path);
  if (!existsSync(files.state)) throw new Error(`no checkpoint at ${path}: ${files.state} does not exist`);
  const state = readStateFile(files.state);
  const model = readSafetensors(files.model);
  checkSameSave(files.model, model.metadata, state, files.state);
  requireFinite(files.model, model.tensors);
  const missing = state.model.keys.filter((k) => !model.tensors.has(k));
  if (missing.length > 0)
    throw new Error(`checkpoint ${files.model}: missing tensors ${missing.join(', ')} listed in ${files.state}`);
  let optimizerState: OptimizerState | null = null;
  if (state.optimizer) {
    const optimizerFile = readSafetensors(files.optimizer);
    checkSameSave(files.optimizer, optimizerFile.metadata, state, files.state);
    requireFinite(files.optimizer, optimizerFile.tensors);
    const params: Record<string, ParameterState> = {};
    for (const [name, entry] of Object.entries(state.optimizer.params)) {
      const buffers: Record<string, Tensor> = {};
      for (const key of entry.buffers) {
        const t = optimizerFile.tensors.get(optimizerBufferKey(name, key));
        if (!t)
          throw new Error(
            `checkpoint ${files.optimizer}: missing tensor '${optimizerBufferKey(name, key)}' listed in ${files.state}`,
          );
        buffers[key] = t;
      }
      params[name] = { step: entry.step, buffers };
    }
    const { kind, hyperparameters, stepCount } = state.optimizer;
    optimizerState = { kind, hyperparameters, stepCount, params };
  }
  return {
    id: state.id,
    modelState: model.tensors,
    optimizerState,
    rngStates: state.rngStates,
    extra: state.extra,
    config: configFromMetadata(files.model, model.metadata),
  };
}

/** Read a state_dict file alone (a checkpoint's weights, or a PyTorch state_dict) with its run config if it has one. */
export function readStateDict(path: string): StateDictFile {
  const file = readSafetensors(path);
  requireFinite(path, file.tensors);
  return { state: file.tensors, config: configFromMetadata(path, file.metadata) };
}

export interface LoadCheckpointTarget {
  readonly model: Module;
  /** Required when the checkpoint holds optimiser state that should be resumed. */
  readonly optimizer?: CheckpointableOptimizer;
  /** Strict key matching for the model (default true). */
  readonly strict?: boolean;
}

/** Read a checkpoint and load it into the model (and optimiser); returns what was read. */
export function loadCheckpoint(path: string, target: LoadCheckpointTarget): CheckpointData {
  const data = readCheckpoint(path);
  target.model.loadStateDict(data.modelState, { strict: target.strict ?? true });
  if (target.optimizer) {
    if (!data.optimizerState) throw new Error(`checkpoint ${path} has no optimiser state to load`);
    target.optimizer.loadStateDict(data.optimizerState);
  }
  return data;
}
