/**
 * How a training run reports progress: a progress bar on a terminal (epoch, step, loss, accuracy,
 * images/s, ETA), plain log lines otherwise (files, CI), nothing with --quiet.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { ProgressEvent } from './trainer.js';

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export function progressMode(options: { quiet?: boolean; stream?: NodeJS.WriteStream }): ProgressMode {
  if (options.quiet) return 'quiet';
  return (options.stream ?? process.stderr).isTTY ? 'bar' : 'lines';
}

/** A reporter for `trainRun`'s onProgress; call `stop()` when the run ends (also on error). */
export function createProgressReporter(
  mode: ProgressMode,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): {
  onProgress: (event: ProgressEvent) => void;
  stop: () => void;
} {
  if (mode === 'quiet') return { onProgress: () => undefined, stop: () => undefined };
  return mode === 'bar' ? barReporter() : lineReporter(write);
}

function lineReporter(write: (line: string) => void): { onProgress: (event: ProgressEvent) => void; stop: () => void } {
  return {
    onProgress: (event) => {
      const line = describeEvent(event);
      if (line) write(line);
    },
    stop: () => undefined,
  };
}

function barReporter(): { onProgress: (event: ProgressEvent) => void; stop: () => void } {
  // A MultiBar (of one bar) can print log lines above the bar without breaking it.
  const bars = new MultiBar({
    format:
      '{runId} |{bar}| step {value}/{total} | epoch {epoch} | loss {loss} | acc {accuracy} | {speed} img/s | ETA {eta_formatted}',
    hideCursor: true,
    etaBuffer: 50,
    stream: process.stderr,
  });
  let bar: SingleBar | null = null;
  const stop = (): void => {
    bars.stop();
    bar = null;
  };
  return {
    onProgress: (event) => {
      switch (event.type) {
        case 'start':
          bars.log(`${describeEvent(event)}\n`);
          bar = bars.create(event.totalSteps, event.step, {
            runId: event.runId,
            epoch: '-',
            loss: '-',
            accuracy: '-',
            speed: '-',
          });
          return;
        case 'step':
          bar?.update(event.step, {
            epoch: event.epoch.toFixed(2),
            loss: event.loss.toFixed(4),
            accuracy: event.accuracy.toFixed(3),
            speed: event.imagesPerSecond.toFixed(0),
          });
          return;
        case 'eval':
          bars.log(`${describeEvent(event)}\n`);
          return;
        case 'checkpoint':
          return;
        case 'end':
          stop();
          process.stderr.write(`${describeEvent(event)}\n`);
      }
    },
    stop,
  };
}

/** One log line per event. */
export function describeEvent(event: ProgressEvent): string | null {
  switch (event.type) {
    case 'start':
      return `${event.runId}: ${event.resumed ? `resuming at step ${event.step}` : 'starting'}, ${event.totalSteps} steps (${event.stepsPerEpoch} per epoch, ${event.trainExamples} training examples)`;
    case 'step':
      return (
        `${event.runId}: step ${event.step}/${event.totalSteps} epoch ${event.epoch.toFixed(2)} loss ${event.loss.toFixed(4)} ` +
        `acc ${event.accuracy.toFixed(3)} ${event.imagesPerSecond.toFixed(0)} img/s ETA ${formatDuration(event.etaSeconds)}`
      );
    case 'eval':
      return `${event.runId}: step ${event.step} ${Object.entries(event.metrics)
        .map(([name, value]) => `${name} ${value.toFixed(4)}`)
        .join(' ')}`;
    case 'checkpoint':
      return `${event.runId}: checkpoint at step ${event.step}: ${event.path}`;
    case 'end':
      return `${event.runId}: ${event.status} at step ${event.step} after ${formatDuration(event.seconds)}`;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}
