/**
 * Live updates: polls the served stores (every 500 ms by default) and tells subscribers about metrics
 * written since the last look and about runs whose status or step changed. A poll of an idle store is one
 * `PRAGMA data_version` (which changes only when another process commits), so polling costs nothing while
 * nothing trains; the trainer writes metrics in SQLite, not in files a file watcher could see change.
 */
import type { MetricRow } from '../runs/store.js';
import type { Catalog, Source } from './catalog.js';

export type LiveEvent =
  | { readonly type: 'metrics'; readonly run: string; readonly rows: readonly MetricRow[] }
  | { readonly type: 'run'; readonly run: string; readonly status: string; readonly step: number };

interface SourceState {
  version: number;
  lastSteps: Map<string, number>;
  runs: Map<string, string>;
}

export class LiveFeed {
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private readonly states = new Map<string, SourceState>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly catalog: Catalog,
    private readonly intervalMs = 500,
  ) {}

  /** Calls `listener` with every event from now on; returns the function that stops it. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.poll(); // a baseline, so only what is written after subscribing is sent
      this.timer = setInterval(() => this.poll(), this.intervalMs);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.states.clear();
    this.listeners.clear();
  }

  private poll(): void {
    for (const source of this.catalog.list()) {
      try {
        this.pollSource(source);
      } catch (error) {
        // A store being rewritten mid-look (a run replaced with --force) is read again at the next poll.
        if (!(error instanceof Error && /SQLITE_BUSY|database is locked/.test(error.message))) throw error;
      }
    }
  }

  private pollSource(source: Source): void {
    const { store } = source;
    const version = store.dataVersion();
    const state = this.states.get(source.name);
    if (state && state.version === version) return;
    const lastSteps = store.lastMetricSteps();
    const runs = new Map(store.listRuns().map((run) => [run.id, `${run.status}:${run.step}`]));
    this.states.set(source.name, { version, lastSteps, runs });
    if (!state) return;
    for (const [id, signature] of runs) {
      if (state.runs.get(id) === signature) continue;
      const [status, step] = signature.split(':') as [string, string];
      this.emit({ type: 'run', run: `${source.name}/${id}`, status, step: Number(step) });
    }
    for (const [id, step] of lastSteps) {
      const before = state.lastSteps.get(id) ?? -Infinity;
      if (step <= before) continue;
      this.emit({ type: 'metrics', run: `${source.name}/${id}`, rows: store.metricsAfter(id, before) });
    }
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
