/** `randlab experiment …` (the CLI from the sources, as bin/randlab.js runs it) as a child process, for tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ENTRY = join(import.meta.dirname, '..', 'runs-cli-entry.ts');

export interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** performance.now() when the process ended. */
  readonly at: number;
}

export interface Running {
  readonly child: ChildProcess;
  readonly ended: Promise<Ended>;
  /** Its standard output so far. */
  stdout(): string;
  /** Resolves once stdout contains `text` (rejects if the process ends first). */
  printed(text: string): Promise<void>;
}

/**
 * Starts `randlab <args>` with `env` added to this process's environment; in `cwd` (default this process's),
 * and, `detached`, as the leader of its own process group (to kill it with its children, as a host dies).
 */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: { cwd?: string; detached?: boolean } = {},
): Running {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), ENTRY, ...args], {
    env: { ...process.env, ...env },
    ...options,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const ended = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, at: performance.now() })),
  );
  let done = false;
  void ended.then(() => (done = true));
  const printed = async (text: string) => {
    while (!stdout.includes(text)) {
      if (done) throw new Error(`randlab ${args.join(' ')} ended without printing '${text}':\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  return { child, ended, stdout: () => stdout, printed };
}
