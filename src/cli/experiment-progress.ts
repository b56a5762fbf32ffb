/**
 * `randlab experiment` on a terminal: one progress bar (runs finished of the plan, the step of each run in
 * progress, ETA) in place of the scrolling lines. It reads the experiment's store as the dashboard does
 * (read-only, twice a second), so it shows runs that workers train in other processes too; failures and
 * runs held by another process still print as lines above the bar. Logs and CI keep the plain lines.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration } from '../runs/progress.js';
import { RunStore } from '../runs/store.js';
import { experimentPlan, planStates, progressOf } from '../serve/experiments.js';

export interface ExperimentBar {
  /** The experiment's log: lines about failures and held runs go above the bar, the rest is shown by it. */
  readonly log: (line: string) => void;
  stop(): void;
}

/** Log lines that say something the bar cannot: a run failed, or another process holds it. */
const KEPT_LINE = /^\s*(FAILED|HELD)\b/;

export function experimentProgressBar(
  dir: string,
  stream: NodeJS.WritableStream = process.stdout,
  intervalMs = 500,
): ExperimentBar {
  const bars = new MultiBar({
    format: 'runs |{bar}| {value}/{total} | {current} | ETA {timeLeft}',
    hideCursor: true,
    stream,
  });
  let bar: SingleBar | null = null;
  let store: RunStore | null = null;

  const update = (): void => {
    if (!store) {
      // The store appears once the experiment has written its manifest and created its first run.
      if (!existsSync(join(dir, 'experiment.json')) || !existsSync(join(dir, 'store', 'index.sqlite'))) return;
      store = RunStore.openReadOnly(join(dir, 'store'));
    }
    const plan = experimentPlan(dir);
    const states = planStates(store, plan);
    const progress = progressOf(states);
    const steps = store.lastMetricSteps();
    const current = states
      .filter((state) => state.status === 'running')
      .map((state) => {
        const total = state.spec.config?.training?.iterations;
        return `${state.spec.id} step ${steps.get(state.spec.id) ?? 0}${total ? `/${total}` : ''}`;
      });
    const values = {
      current: current.join(', ') || '-',
      timeLeft: progress.etaSeconds === null ? '?' : formatDuration(progress.etaSeconds),
    };
    const finished = progress.counts.finished ?? 0;
    if (!bar) bar = bars.create(progress.total, finished, values);
    else bar.update(finished, values);
  };
  // A display must not end the experiment: a failed look (a store being replaced) shows as its message.
  const tryUpdate = (): void => {
    try {
      update();
    } catch (error) {
      bar?.update({ current: `(progress unavailable: ${error instanceof Error ? error.message : String(error)})` });
    }
  };
  const timer = setInterval(tryUpdate, intervalMs);

  return {
    log: (line) => {
      if (KEPT_LINE.test(line)) bars.log(`${line}\n`);
    },
    stop: () => {
      clearInterval(timer);
      tryUpdate();
      bars.update(); // draws the last values and prints lines logged since the last redraw
      bars.stop();
      store?.close();
    },
  };
}
