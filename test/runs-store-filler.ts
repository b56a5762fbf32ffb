/**
 * A child process of the write-failure tests: opens the run store at argv[2], appends metrics until a
 * write fails, and prints that error as JSON ({name, message, code, causeCode}); `{}` if none failed.
 */
import { RunStore } from '../src/runs/store.js';

const MAX_BATCHES = 2000;
const store = RunStore.open(process.argv[2]!);
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
