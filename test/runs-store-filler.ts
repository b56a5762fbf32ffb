/**
 * A child process of the write-failure tests: opens a run store whose index is in argv[2], appends metrics
 * until a write fails, and prints that error as JSON ({name, message, code, causeCode}); `{}` if none failed.
 * The run folders (which record the metrics too) are in a temporary folder elsewhere, so that it is the
 * index that cannot grow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../src/runs/store.js';

const MAX_BATCHES = 2000;
const folders = mkdtempSync(join(tmpdir(), 'randlab-filler-'));
process.on('exit', () => rmSync(folders, { recursive: true, force: true }));
const store = RunStore.open(folders, { indexPath: join(process.argv[2]!, 'index.sqlite') });
let failure: Record<string, unknown> = {};
try {
  store.createRun({ id: 'filler', model: 'mlp', dataset: 'test', config: {} });
  for (let step = 0; step < MAX_BATCHES; step++) {
    const rows = Array.from({ length: 500 }, (_, i) => ({ step, name: `metric/${i}`, value: Math.sqrt(step + i) }));
    store.appendMetrics('filler', rows);
  }
} catch (error) {
  const e = error as Error & { code?: string };
  failure = { name: e.name, message: e.message, code: e.code, causeCode: (e.cause as { code?: string })?.code };
}
process.stdout.write(`${JSON.stringify(failure)}\n`);
