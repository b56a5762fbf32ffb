/**
 * The dashboard's one write: "re-run the failed runs of this experiment" starts `randlab experiment` on the
 * experiment's folder, with its recipe, scale, seeds and data root from experiment.json: what a user would
 * type. That command skips the finished runs, resumes interrupted ones and starts failed ones over, then
 * writes the report; it runs in its own process (training would stall the server) and logs to
 * logs/rerun-<time>.log in the folder. A folder another process is running is refused by that command's
 * own lock, and the log says so.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../experiments/experiment.js';

/** The `randlab experiment` arguments that continue the experiment in `dir`. */
export function experimentArguments(dir: string): string[] {
  const manifest = readManifest(dir);
  const consecutive = manifest.seeds.every((seed, i) => seed === i);
  if (!consecutive)
    throw new Error(
      `${dir}: seeds ${manifest.seeds.join(', ')} do not start at 0; run \`randlab experiment\` on it by hand`,
    );
  return [
    'experiment',
    manifest.recipe,
    '--scale',
    manifest.scale,
    '--seeds',
    String(manifest.seeds.length),
    '--out',
    dir,
    '--data-dir',
    manifest.dataRoot,
  ];
}

export interface RerunStarted {
  readonly started: boolean;
  readonly message: string;
  readonly pid?: number;
  readonly log?: string;
}

/**
 * A re-run action that starts `command` (the randlab command line: node and its entry script) with the
 * experiment's arguments, detached, its output in the folder's logs.
 */
export function rerunLauncher(command: readonly string[]): (dir: string) => Promise<RerunStarted> {
  return async (dir) => {
    const args = experimentArguments(dir);
    const logDir = join(dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const log = join(logDir, `rerun-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
    const fd = openSync(log, 'a');
    try {
      const child = spawn(command[0]!, [...command.slice(1), ...args], {
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid!));
        child.once('error', reject);
      });
      child.unref();
      return { started: true, pid, log, message: `started randlab ${args.join(' ')} (pid ${pid}); its log: ${log}` };
    } finally {
      closeSync(fd);
    }
  };
}
