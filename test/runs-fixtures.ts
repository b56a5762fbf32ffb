/**
 * Tiny image folders for the run, trainer and CLI tests: random 3×8×8 PNGs in train/ and test/,
 * so a whole training run takes well under a second; the config of a tiny cnn2 run on them; the flags
 * of a tiny MLP run on Gaussian data; and a run's final weights, to compare runs bit for bit.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { readCheckpoint } from '../src/checkpoint/index.js';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import type { RunStore } from '../src/runs/store.js';
import { Rng } from '../src/tensor/rng.js';
import { makeTempDir } from './helpers/data-fixtures.js';

export interface TinyData {
  readonly root: string;
  /** Dataset spec for configs and flags. */
  readonly spec: string;
  readonly cleanup: () => void;
}

/** `perClass` random images per class and split; pixels depend only on (seed, split, class, index). */
export async function makeTinyImageFolder(
  options: { classes?: number; trainPerClass?: number; testPerClass?: number; size?: number; seed?: number } = {},
): Promise<TinyData> {
  const classes = options.classes ?? 4;
  const size = options.size ?? 8;
  const { dir: root, cleanup } = makeTempDir('runs');
  const rng = new Rng(options.seed ?? 0, 'tiny-images');
  for (const [split, perClass] of [
    ['train', options.trainPerClass ?? 16],
    ['test', options.testPerClass ?? 4],
  ] as const) {
    for (let c = 0; c < classes; c++) {
      const dir = join(root, split, `class${c}`);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass; i++) {
        const raw = Buffer.alloc(size * size * 3);
        // A class-dependent mean colour, so real labels are learnable.
        for (let p = 0; p < raw.length; p++)
          raw[p] = Math.min(255, Math.max(0, Math.round(64 + 40 * ((c + p) % 3) + 60 * rng.normal())));
        await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
          .png()
          .toFile(join(dir, `${String(i).padStart(3, '0')}.png`));
      }
    }
  }
  return { root, spec: `imagefolder:${root},size=${size}`, cleanup };
}

/** `randlab train` flags for an MLP of these widths on 3-dimensional Gaussian data with 2 random labels. */
export function gaussianMlpFlags(dataset: string, widths: string, iterations: number): string[] {
  return [
    '--data.dataset',
    dataset,
    '--data.labels.kind',
    'random',
    '--data.labels.k',
    '2',
    '--data.labels.seed',
    '0',
    '--model.name',
    'mlp',
    '--model.widths',
    widths,
    '--training.iterations',
    String(iterations),
  ];
}

/** cnn2 with 8 filters on a tiny image folder: 4 steps per epoch at batch 16 on its 64 training images. */
export function tinyRunConfig(
  dataset: string,
  name: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    seed: 5,
    data: { dataset },
    model: { name: 'cnn2', widths: [8, 16] },
    schedule: { type: 'constant', lr: 0.05 },
    training: { batchSize: 16, iterations: 24 },
    eval: { every: 8 },
    log: { every: 4 },
    checkpoint: { every: 6 },
    ...extra,
  };
}

/** The bytes of every tensor of a run's last checkpoint. */
export function finalWeights(store: RunStore, runId: string): Map<string, Buffer> {
  const last = listCheckpoints(store.checkpointDir(runId)).at(-1)!;
  return new Map(
    [...readCheckpoint(last.prefix).modelState].map(([key, t]) => [
      key,
      Buffer.from(t.dtype === 'int32' ? t.ints.buffer : t.data.buffer),
    ]),
  );
}
