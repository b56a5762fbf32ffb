/**
 * `randlab experiment`'s progress bar on a terminal: one bar of runs finished, drawn from the experiment's
 * store while the synthetic Gaussian recipe runs, with failures still printed as lines.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { experimentProgressBar } from '../src/cli/experiment-progress.js';
import { runExperiment } from '../src/experiments/experiment.js';
import { makeTempDir } from './helpers/data-fixtures.js';

const temp = makeTempDir('experiment-progress');
afterAll(() => temp.cleanup());

/** A stream that says it is a terminal and keeps what is written to it. */
function fakeTerminal(): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  Object.assign(stream, {
    isTTY: true,
    columns: 160,
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
  });
  return { stream, text: () => text };
}

describe('the experiment progress bar', () => {
  it('shows the runs finished of the plan in one bar, and keeps failure lines', async () => {
    const dir = join(temp.dir, 'fig20');
    const terminal = fakeTerminal();
    const bar = experimentProgressBar(dir, terminal.stream, 20);
    try {
      await runExperiment({
        recipe: 'fig20-gaussian-fc',
        scale: 'smoke',
        seeds: 2,
        out: dir,
        dataRoot: '/nonexistent',
        log: bar.log,
      });
      bar.log('  FAILED some-run: an example failure');
    } finally {
      bar.stop();
    }
    const text = terminal.text();
    expect(text).toMatch(/runs \|=+\| 12\/12 \| - \| ETA 0s/);
    expect(text).toMatch(/\| (\d|1[01])\/12 \| [^|]*(step \d+|-)[^|]* \| ETA/); // while it ran
    expect(text).toContain('FAILED some-run: an example failure');
    // The plain progress lines are not printed: the bar stands for them.
    expect(text).not.toMatch(/\[1\/12\]/);
  });
});
