/**
 * A command's graceful stop on SIGINT (Ctrl-C) and SIGTERM: the first one aborts `signal` (the work
 * stops at its next step, with a checkpoint) and removes the listeners, so that a second one, of either
 * kind, takes its default action and ends the process at once (the run locks' listener releases them,
 * see src/runs/lock.ts). `randlab train` and `randlab experiment` use it.
 */
import { constants } from 'node:os';

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface StopOnSignal {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal that asked to stop, or null. */
  readonly received: NodeJS.Signals | null;
  /** Removes the listeners (if no signal came). */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM until the first of them or `dispose`; `onStop` hears that first one. */
export function stopOnSignal(onStop: (signal: NodeJS.Signals) => void = () => {}): StopOnSignal {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const dispose = (): void => {
    for (const name of STOP_SIGNALS) process.off(name, listener);
  };
  const listener = (signal: NodeJS.Signals): void => {
    dispose();
    received = signal;
    onStop(signal);
    controller.abort();
  };
  for (const name of STOP_SIGNALS) process.on(name, listener);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose,
  };
}

/**
 * Ends the process by `signal` after its work stopped on it, so that whoever started it sees the signal
 * (exit status 128 + n in a shell: 130 for Ctrl-C, 143 for SIGTERM) rather than success: a script's
 * `randlab train … && next` must not go on with a run that did not finish, and a shell running a
 * script ends it on a child that ended by SIGINT. Call it with no listener left for `signal` (after
 * `dispose`), so the default action ends the process; the exit code says the same should the signal come late.
 */
export function endBySignal(signal: NodeJS.Signals): void {
  process.exitCode = 128 + constants.signals[signal];
  process.kill(process.pid, signal);
}
