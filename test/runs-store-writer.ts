/**
 * A child process of the two-process store test: opens the store given as argv[2] and writes runs
 * named `<argv[3]>-<i>` with metrics in many small transactions, interleaved with reads. It starts
 * writing only once every writer named in argv[6] (comma-separated) has opened the store, so the
 * writers really overlap.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunStore } from '../src/runs/store.js';

const [root, prefix, runsText, stepsText, writers] = process.argv.slice(2);
const store = RunStore.open(root!);
writeFileSync(join(root!, `ready-${prefix}`), '');
const pause = new Int32Array(new SharedArrayBuffer(4));
while (!writers!.split(',').every((w) => existsSync(join(root!, `ready-${w}`)))) Atomics.wait(pause, 0, 0, 5);
for (let r = 0; r < Number(runsText); r++) {
  const id = `${prefix}-${r}`;
  store.createRun({ id, model: 'mlp', dataset: 'test', config: { writer: prefix, run: r } });
  for (let step = 1; step <= Number(stepsText); step++) {
    store.appendMetrics(id, [
      { step, name: 'train/loss', value: 1 / step },
      { step, name: 'train/accuracy', value: step / 1000 },
      { step, name: 'lr', value: 0.1 },
    ]);
    if (step % 25 === 0) {
      store.updateRun(id, { step });
      store.listRuns();
    }
  }
  store.updateRun(id, { status: 'finished' });
}
store.close();
