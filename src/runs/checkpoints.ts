/**
 * A run's checkpoints: `<run>/checkpoints/step-<8 digits>` prefixes in the checkpoint format of
 * src/checkpoint (weights `.safetensors`, optimiser `.optim.safetensors`, `.state.json` written last),
 * plus the step-independent `init-norms.json` that rescaling after pre-training needs. Every weights
 * file carries the run's resolved config (the same as the run folder's config.json).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointExists, checkpointFiles, writeFileAtomic, type StateDictFile } from '../checkpoint/index.js';
import { resolveConfig, type RunConfig } from './config.js';

const PREFIX_PATTERN = /^step-(\d{8,})\.state\.json$/;
const INIT_NORMS_FILE = 'init-norms.json';

export interface RunCheckpoint {
  readonly step: number;
  /** Path prefix, as `saveCheckpoint`/`readCheckpoint` take it. */
  readonly prefix: string;
  /** The weights file (PyTorch-loadable). */
  readonly weights: string;
}

export function checkpointPrefix(dir: string, step: number): string {
  return join(dir, `step-${String(step).padStart(8, '0')}`);
}

function toCheckpoint(dir: string, step: number): RunCheckpoint {
  const prefix = checkpointPrefix(dir, step);
  return { step, prefix, weights: checkpointFiles(prefix).model };
}

/** Complete checkpoints in `dir`, oldest first. */
export function listCheckpoints(dir: string): RunCheckpoint[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => PREFIX_PATTERN.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b)
    .map((step) => toCheckpoint(dir, step))
    .filter((c) => checkpointExists(c.prefix));
}

export function latestCheckpoint(dir: string): RunCheckpoint | null {
  return listCheckpoints(dir).at(-1) ?? null;
}

/** The checkpoint at `step`, or an error listing the steps that exist. */
export function checkpointAt(dir: string, step: number, runId: string): RunCheckpoint {
  const all = listCheckpoints(dir);
  const found = all.find((c) => c.step === step);
  if (!found)
    throw new Error(
      `run '${runId}' has no checkpoint at step ${step} (steps with checkpoints: ${all.map((c) => c.step).join(', ') || 'none'})`,
    );
  return found;
}

/** The run config a weights file carries, validated; null when it carries none (PyTorch's, or older randlab's). */
export function runConfigOf(file: string, weights: StateDictFile): RunConfig | null {
  return weights.config === null ? null : resolveConfig(weights.config, `the run config stored in ${file}`);
}

export function deleteCheckpoint(checkpoint: RunCheckpoint): void {
  const files = checkpointFiles(checkpoint.prefix);
  // The state file goes first: without it the set no longer counts as a checkpoint.
  for (const path of [files.state, files.model, files.optimizer]) rmSync(path, { force: true });
}

/** Temp files of writes that a killed process left behind. */
export function removeStaleTempFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir))
    if (name.startsWith('.') && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
}

export function writeInitNorms(runDir: string, norms: ReadonlyMap<string, number>): void {
  const json = `${JSON.stringify(Object.fromEntries(norms), null, 2)}\n`;
  writeFileAtomic(join(runDir, INIT_NORMS_FILE), json, 'initial parameter norms');
}

export function readInitNorms(runDir: string): Map<string, number> {
  const path = join(runDir, INIT_NORMS_FILE);
  if (!existsSync(path)) throw new Error(`${path} does not exist: the run did not record its initial parameter norms`);
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return new Map(
    Object.entries(raw).map(([key, value]) => {
      if (typeof value !== 'number') throw new Error(`${path}: norm of '${key}' is not a number`);
      return [key, value];
    }),
  );
}
