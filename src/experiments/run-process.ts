/**
 * Long-lived child processes that train runs one after another: the local pool (`--jobs N`) and a queue
 * worker (src/experiments/queue/) each keep one per run they train at a time, instead of a process per run.
 * Starting a process costs Node's start and the load of randlab's modules (recipes, kernels): about 1.8 s a
 * run on a loaded 2-core machine, more than many smoke runs take to train. A process is reused only after a
 * run that finished (or that another process held, which touched nothing): one whose run failed, diverged or
 * crashed is retired and the next run gets a fresh one, so a run never inherits what a failure left behind.
 *
 * The child (src/experiments/worker.ts) says `ready` once it listens, is sent `run` requests over the IPC
 * channel one at a time, writes the run's log to `<experiment>/logs/<run>.log` itself, and answers with how
 * the run ended, its failure, or the lock that held it; between, it sends the run's progress. Anything else
 * it prints (a crash's stack) is appended to the log of its current, else last, run.
 *
 * Stopping: when a run's signal aborts, a training child gets SIGTERM (it stops after its step with a
 * checkpoint, reports `stopped`, and ends: a stopped child is not reused), a compute child SIGKILL (it holds
 * no lock and nothing worth keeping; the run is redone next time). When this process goes, even killed, the
 * channel closes and a child stops its run the same way and ends (see worker.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LockHeldError, type LockOwner } from '../runs/lock.js';
import type { ProgressEvent } from '../runs/trainer.js';
import type { Device } from '../tensor/index.js';
import type { RunSpec } from './recipe.js';

/** How a run that did not fail ended: to the end, or stopped on request (resumable from its checkpoint). */
export type RunEnd = 'finished' | 'stopped';

/**
 * The exit code of a child that ended because it was asked to stop (EX_TEMPFAIL of sysexits.h: try again
 * later); its run, if it had one, stopped at a checkpoint.
 */
export const WORKER_STOPPED_EXIT_CODE = 75;

/** One run for a child to train. */
export interface RunRequest {
  readonly experimentDir: string;
  readonly runId: string;
  readonly kind: RunSpec['kind'];
  /** An index of the run store of the child's own (a queue worker's: the runs are imported from their folders). */
  readonly indexPath?: string;
  /** The data root on this host (default the experiment manifest's). */
  readonly dataRoot?: string;
  readonly device?: Device;
}

/** What a child sends its parent. */
export type ChildMessage =
  | { readonly ready: true }
  | { readonly progress: ProgressEvent }
  | { readonly ended: RunEnd }
  | { readonly failed: string }
  | HeldReport;

/** A run's lock held by another process, as it crosses the IPC channel. */
export interface HeldReport {
  readonly held: { readonly message: string; readonly path: string; readonly owner: LockOwner };
}

export function heldReport(error: LockHeldError): HeldReport {
  return { held: { message: error.message, path: error.path, owner: error.owner } };
}

export function runLogPath(experimentDir: string, runId: string): string {
  return join(experimentDir, 'logs', `${runId}.log`);
}

export interface RunOptions {
  /** Aborted: the run stops (see the file's comment). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** The child entry: compiled JavaScript next to this file, or the TypeScript source run through tsx (tests). */
function childEntry(): { script: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const typescript = here.endsWith('.ts');
  return {
    script: join(here, '..', typescript ? 'worker.ts' : 'worker.js'),
    // tsx by its path: a queue worker may run in another working folder (a host's).
    execArgv: typescript ? ['--import', import.meta.resolve('tsx')] : [],
  };
}

/** The run a child is training, and how to settle it. */
interface Assignment {
  readonly request: RunRequest;
  readonly options: RunOptions;
  readonly resolve: (end: RunEnd) => void;
  readonly reject: (error: Error) => void;
}

/** One child process, training the runs it is given one at a time. */
export class RunProcess {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  /** Resolves when the process has ended and its output has been read. */
  private readonly gone: Promise<void>;
  private assignment: Assignment | undefined;
  private lastLog: string | undefined;
  private stderrTail = '';
  private exited = false;
  /** Whether it may take another run: alive, and its last run finished or was held elsewhere. */
  private reusable = true;

  constructor(env: NodeJS.ProcessEnv) {
    const { script, execArgv } = childEntry();
    this.child = spawn(process.execPath, [...execArgv, script], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
    const stdout = this.child.stdout!;
    const stderr = this.child.stderr!;
    stdout.on('data', (chunk: Buffer) => this.straysOutput(chunk));
    stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
      this.straysOutput(chunk);
    });
    let failedToStart: (error: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      failedToStart = reject;
      this.child.on('message', (message: ChildMessage) => {
        if ('ready' in message) resolve();
        else this.heard(message);
      });
    });
    // Awaited when a run is given; until then a failed start must not count as unhandled.
    this.ready.catch(() => {});
    // 'exit', then the end of its output (with its stack when it crashed). Not 'close': after this process
    // disconnects the channel (retire), Node 20 never emits it.
    const outputEnded = Promise.all([stdout, stderr].map((stream) => new Promise((end) => stream.once('close', end))));
    this.gone = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        void outputEnded.then(() => {
          failedToStart(new Error(`a run process ended before it was ready, with ${this.ending(code, signal)}`));
          this.ended(code, signal);
          resolve();
        });
      });
      this.child.once('error', (error) => {
        this.exited = true;
        failedToStart(error);
        this.assignment?.reject(error);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether it can take another run. */
  get available(): boolean {
    return this.reusable && !this.exited && this.assignment === undefined;
  }

  /** Trains one run; how it ended, or its failure (a LockHeldError when another process holds it). */
  async run(request: RunRequest, options: RunOptions = {}): Promise<RunEnd> {
    if (!this.available) throw new Error(`run process ${this.pid} cannot take run ${request.runId}`);
    this.lastLog = runLogPath(request.experimentDir, request.runId);
    const { signal } = options;
    const stop = () => {
      this.reusable = false;
      this.child.kill(request.kind === 'compute' ? 'SIGKILL' : 'SIGTERM');
    };
    const settled = new Promise<RunEnd>((resolve, reject) => {
      this.assignment = { request, options, resolve, reject };
    });
    try {
      signal?.addEventListener('abort', stop, { once: true });
      // Asked to stop while the process started (it may have ended by it): nothing began.
      const started = await this.ready.then(
        () => true,
        (error: unknown) => {
          if (signal?.aborted) return false;
          throw error;
        },
      );
      if (!started || signal?.aborted) return 'stopped';
      this.child.send({ run: request });
      return await settled;
    } finally {
      signal?.removeEventListener('abort', stop);
      this.assignment = undefined;
    }
  }

  /** Ends it (it ends at once when idle, after stopping its run otherwise); resolves when it has. */
  retire(): Promise<void> {
    this.reusable = false;
    if (this.child.connected) this.child.disconnect();
    return this.gone;
  }

  private heard(message: ChildMessage): void {
    const assignment = this.assignment;
    if (!assignment) return;
    if ('progress' in message) assignment.options.onProgress?.(message.progress);
    else if ('ended' in message) {
      if (message.ended === 'stopped') this.reusable = false;
      assignment.resolve(message.ended);
    } else if ('held' in message) {
      assignment.reject(new LockHeldError(message.held.message, message.held.path, message.held.owner));
    } else if ('failed' in message) {
      this.reusable = false;
      assignment.reject(new Error(`${message.failed} (log: ${this.lastLog})`));
    }
  }

  /** The child ended: its run, if it had one, stopped (when asked to) or failed. */
  private ended(code: number | null, signal: NodeJS.Signals | null): void {
    const assignment = this.assignment;
    if (!assignment) return;
    const asked = assignment.options.signal?.aborted;
    if (asked && (code === WORKER_STOPPED_EXIT_CODE || signal !== null)) assignment.resolve('stopped');
    else {
      const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
      const what = `run process ${this.pid} of ${assignment.request.runId} exited with ${this.ending(code, signal)}`;
      assignment.reject(new Error(`${what} (log: ${this.lastLog}): ${tail}`));
    }
  }

  private ending(code: number | null, signal: NodeJS.Signals | null): string {
    return signal ?? `code ${code}`;
  }

  /** Output the child did not write to a run's log itself (a crash's stack): into its current or last run's log. */
  private straysOutput(chunk: Buffer): void {
    if (this.lastLog === undefined) return;
    try {
      appendFileSync(this.lastLog, chunk);
    } catch {
      // The run's own log says why it could not be written (the child fails the run naming it).
    }
  }
}

/**
 * The run processes of one pool or queue worker: a run takes an idle one or starts one, so there are at
 * most as many as runs trained at once. `close` ends them all.
 */
export class RunProcesses {
  private readonly idle: RunProcess[] = [];
  private readonly all = new Set<RunProcess>();
  private closed = false;

  /** `env`: the children's environment (their share of the cores, see workerEnvironment in pool.ts). */
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async run(request: RunRequest, options: RunOptions = {}): Promise<RunEnd> {
    if (this.closed) throw new Error(`run processes closed: cannot train run ${request.runId}`);
    const child = this.takeIdle() ?? this.start();
    try {
      return await child.run(request, options);
    } finally {
      if (child.available && !this.closed) this.idle.push(child);
      else void this.retire(child);
    }
  }

  /** Ends every process (each stops its run first, if it has one). */
  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.all([...this.all].map((child) => this.retire(child)));
  }

  private takeIdle(): RunProcess | undefined {
    for (let child = this.idle.pop(); child; child = this.idle.pop()) if (child.available) return child;
    return undefined;
  }

  private start(): RunProcess {
    const child = new RunProcess(this.env);
    this.all.add(child);
    return child;
  }

  private async retire(child: RunProcess): Promise<void> {
    await child.retire();
    this.all.delete(child);
  }
}
