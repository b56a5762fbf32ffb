/**
 * The Redis server of a queue, from a URL: `redis://[[user]:password@]host[:port][/db]`, or `rediss://…`
 * for TLS. The password goes to the connection only: every text shown or written (logs, reports, job
 * data) uses `display`, in which it is masked.
 */
import type { RedisOptions } from 'bullmq';

export interface QueueConnection {
  /** Options of the ioredis connections BullMQ makes. */
  readonly options: RedisOptions;
  /** The URL without its password, for logs. */
  readonly display: string;
}

export const QUEUE_URL_ENV = 'RANDLAB_QUEUE';

const DEFAULT_PORT = 6379;

/** The connection to the server `url` names, or an Error saying what in it is wrong (never repeating the password). */
export function parseQueueUrl(url: string): QueueConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not repeated: it may hold a password.
    throw new Error('the queue URL is not a URL: expected redis://[:password@]host[:port][/db] or rediss://…');
  }
  const tls = parsed.protocol === 'rediss:';
  if (parsed.protocol !== 'redis:' && !tls)
    throw new Error(
      `queue URL ${displayOf(parsed)}: expected the scheme redis:// or rediss://, got ${parsed.protocol}//`,
    );
  if (parsed.hostname === '') throw new Error(`queue URL ${displayOf(parsed)}: no host`);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isSafeInteger(db) || db < 0)
    throw new Error(`queue URL ${displayOf(parsed)}: the database '${dbText}' is not a non-negative integer`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  const options: RedisOptions = {
    host,
    port: parsed.port === '' ? DEFAULT_PORT : Number(parsed.port),
    db,
    // BullMQ's workers block on Redis commands: they must wait through a reconnection, not fail.
    maxRetriesPerRequest: null,
    ...(parsed.username !== '' ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password !== '' ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(tls ? { tls: { servername: host } } : {}),
  };
  return { options, display: displayOf(parsed) };
}

/** The queue URL from `--queue`, else $RANDLAB_QUEUE (where a password stays out of `ps`). */
export function resolveQueueUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag ?? (env[QUEUE_URL_ENV] || undefined);
}

function displayOf(url: URL): string {
  const credentials = url.username !== '' || url.password !== '' ? `${url.username}${url.password ? ':***' : ''}@` : '';
  return `${url.protocol}//${credentials}${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}
