/**
 * Real write failures for tests, each in a child process so that nothing outlives the test:
 *
 * - a full disk (ENOSPC): a small tmpfs mounted over a directory inside the child's own mount
 *   namespace (`unshare -m` as root, `unshare -rm` through a user namespace otherwise), where the
 *   machine permits it (`fullDiskAvailable`);
 * - a file-size limit (EFBIG): `ulimit -f`, which every user may set. Node ignores SIGXFSZ, so the
 *   write fails with EFBIG instead of killing the process.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sh -c` script: mount a tmpfs of size $1 over $2, then run the rest of the arguments. */
const MOUNT_THEN_EXEC = 'mount -t tmpfs -o "size=$1" tmpfs "$2" && shift 2 && exec "$@"';
/** `sh -c` script: limit every file written to $1 blocks of 512 bytes (1024 in bash), then run the rest. */
const LIMIT_THEN_EXEC = 'ulimit -f "$1" && shift && exec "$@"';

let namespacePrefix: string[] | null | undefined;

/** How this machine gives a child a private mount namespace, or null when it does not permit one. */
function privateMountNamespace(): string[] | null {
  if (namespacePrefix !== undefined) return namespacePrefix;
  namespacePrefix = null;
  const probeDir = mkdtempSync(join(tmpdir(), 'randlab-mount-probe-'));
  try {
    for (const prefix of [
      ['unshare', '-m'],
      ['unshare', '-rm'],
    ]) {
      const probe = spawnSync(prefix[0]!, [
        ...prefix.slice(1),
        'sh',
        '-c',
        MOUNT_THEN_EXEC,
        'sh',
        '4k',
        probeDir,
        'true',
      ]);
      if (probe.status === 0) {
        namespacePrefix = prefix;
        break;
      }
    }
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
  return namespacePrefix;
}

/** True when `runOnFullDisk` can work here (Linux with unshare and mount permitted). */
export function fullDiskAvailable(): boolean {
  return privateMountNamespace() !== null;
}

/** Runs a command to its end, returning its exit code and output. */
export function runChild(command: string, args: readonly string[], options: SpawnSyncOptions = {}): ChildResult {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { code: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs `command args…` with a tmpfs of `size` (e.g. '1m') mounted over the existing, empty directory `dir`. */
export function runOnFullDisk(
  dir: string,
  size: string,
  command: string,
  args: readonly string[],
  options: SpawnSyncOptions = {},
): ChildResult {
  const prefix = privateMountNamespace();
  if (!prefix) throw new Error('this machine permits no private mount namespace (unshare -m / -rm)');
  return runChild(
    prefix[0]!,
    [...prefix.slice(1), 'sh', '-c', MOUNT_THEN_EXEC, 'sh', size, dir, command, ...args],
    options,
  );
}

/** Runs `command args…` unable to write a file past `blocks` × 512 bytes (× 1024 where sh is bash). */
export function runWithFileSizeLimit(
  blocks: number,
  command: string,
  args: readonly string[],
  options: SpawnSyncOptions = {},
): ChildResult {
  return runChild('sh', ['-c', LIMIT_THEN_EXEC, 'sh', String(blocks), command, ...args], options);
}
