/**
 * Who may talk to the server. Bound to the loopback interface it needs no token, but still checks the
 * Host header, so a web page that rebinds its own DNS name to 127.0.0.1 cannot read the API. Bound to any
 * other address it refuses to start without a token, and then every request must carry it: as
 * `Authorization: Bearer <token>`, or as the cookie that a first visit with `?token=<token>` sets.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'randlab_token';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The token to require, or an error when the address is not loopback and none is given. */
export function requiredToken(host: string, token: string | undefined): string | undefined {
  const given = token === '' ? undefined : token;
  if (!isLoopback(host) && given === undefined)
    throw new Error(
      `randlab serve: binding to ${host} exposes the runs to the network; give --token <secret> (or set RANDLAB_TOKEN), or bind to 127.0.0.1`,
    );
  if (given !== undefined && given.length < 16)
    throw new Error('randlab serve: --token must be at least 16 characters (e.g. `openssl rand -hex 16`)');
  return given;
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** Whether the request carries the token in its Authorization header or its cookie. */
export function hasToken(request: IncomingMessage, token: string): boolean {
  const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (bearer !== undefined && sameSecret(bearer, token)) return true;
  const cookie = cookieValue(request.headers.cookie, TOKEN_COOKIE);
  return cookie !== undefined && sameSecret(cookie, token);
}

/** Whether `?token=` in a URL is the token (the first visit, from the URL the server printed). */
export function queryHasToken(url: URL, token: string): boolean {
  const given = url.searchParams.get('token');
  return given !== null && sameSecret(given, token);
}

/** Whether the Host header names the loopback address the server listens on (DNS rebinding guard). */
export function loopbackHostHeader(request: IncomingMessage, port: number): boolean {
  const host = request.headers.host ?? '';
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  return match !== null && isLoopback(match[1]!) && Number(match[2] ?? 80) === port;
}
