/**
 * `randlab serve`'s guards, each against a real server: loopback by default, a token on any other address
 * (header or cookie, else 401), no URL path that leaves the served folders (`..`, encoded dots and
 * slashes, absolute paths, a symbolic link out of a run folder), a Host check against DNS rebinding, and
 * no write but the confirmed re-run action.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../src/runs/store.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { makeServedFolders, rawRequest, type ServedFolders } from './serve-fixtures.js';

const TOKEN = 'test-token-0123456789abcdef';
const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
let temp: ReturnType<typeof makeTempDir>;
let folders: ServedFolders;
let local: RunningServer;
let secret: string;

beforeAll(async () => {
  temp = makeTempDir('serve-security');
  folders = await makeServedFolders(temp.dir);
  // A file outside every served folder, and links to it from inside a run folder.
  const outside = join(temp.dir, 'outside');
  mkdirSync(outside);
  secret = join(outside, 'secret.png');
  const png = new PNG({ width: 2, height: 2 });
  writeFileSync(secret, PNG.sync.write(png));
  writeFileSync(join(folders.store, 'plain-a', 'filters-0.png'), PNG.sync.write(png));
  symlinkSync(secret, join(folders.store, 'plain-a', 'leak.png'));
  // A run whose folder is a link to a folder outside the store.
  const store = RunStore.open(folders.store);
  store.createRun({ id: 'linked', model: 'mlp', dataset: 'gaussian', config: {} });
  store.close();
  rmSync(join(folders.store, 'linked'), { recursive: true });
  symlinkSync(outside, join(folders.store, 'linked'));
  local = await startServer({ dirs: [folders.store, folders.experiments], port: 0 });
});
afterAll(async () => {
  await local?.close();
  temp?.cleanup();
});

describe('randlab serve: who may connect', () => {
  it('binds to 127.0.0.1 by default', () => {
    expect(local.server.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it('refuses to listen on another address without a token', async () => {
    await expect(startServer({ dirs: [folders.store], host: '0.0.0.0', port: 0 })).rejects.toThrow(/--token/);
    await expect(startServer({ dirs: [folders.store], host: '0.0.0.0', port: 0, token: 'short' })).rejects.toThrow(
      /at least 16/,
    );
  });

  it('answers 401 to every request without the token, and accepts it as a bearer header or a cookie', async () => {
    const open = await startServer({ dirs: [folders.store], host: '0.0.0.0', port: 0, token: TOKEN });
    try {
      for (const path of ['/', '/runs', '/api/runs', '/api/runs/runs/plain-a/metrics', '/assets/app.js', '/api/events'])
        expect((await rawRequest(open.port, path)).status, path).toBe(401);
      expect(
        (await rawRequest(open.port, '/api/runs', { headers: { Authorization: 'Bearer wrong-token-0123456789' } }))
          .status,
      ).toBe(401);
      expect((await rawRequest(open.port, '/api/runs', { headers: { Cookie: 'randlab_token=wrong' } })).status).toBe(
        401,
      );
      expect((await rawRequest(open.port, '/api/runs?token=wrong')).status).toBe(401);
      const bearer = await rawRequest(open.port, '/api/runs', { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(bearer.status).toBe(200);
      expect(bearer.body).toContain('plain-a');
      // The first visit with ?token= sets the cookie and drops the token from the address.
      const first = await rawRequest(open.port, `/runs?group=status&token=${TOKEN}`);
      expect(first.status).toBe(303);
      expect(first.headers.location).toBe('/runs?group=status');
      const cookie = String(first.headers['set-cookie']);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const withCookie = await rawRequest(open.port, '/api/runs', { headers: { Cookie: cookie.split(';')[0]! } });
      expect(withCookie.status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('takes the token from RANDLAB_TOKEN on the command line, and refuses another address without one', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', ENTRY, 'serve', folders.store, '--host', '0.0.0.0', '--port', '0'],
          {
            env: { ...process.env, RANDLAB_TOKEN: '', ...env },
          },
        );
        let out = '';
        const collect = (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('randlab serve: http')) child.kill('SIGTERM');
        };
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.on('close', (code) => resolve({ code, out }));
      });
    const refused = await run({});
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/give --token <secret> \(or set RANDLAB_TOKEN\)/);
    const started = await run({ RANDLAB_TOKEN: TOKEN });
    expect(started.out).toMatch(new RegExp(`randlab serve: http://0\\.0\\.0\\.0:\\d+/\\?token=${TOKEN}`));
  });

  it('answers 403 to a Host header that is not the loopback address it listens on (DNS rebinding)', async () => {
    expect(
      (await rawRequest(local.port, '/api/runs', { headers: { Host: `evil.example:${local.port}` } })).status,
    ).toBe(403);
    expect((await rawRequest(local.port, '/api/runs', { headers: { Host: `localhost:${local.port}` } })).status).toBe(
      200,
    );
  });
});

describe('randlab serve: paths from URLs', () => {
  it('serves a PNG of a run folder, but no link out of it, nor a run folder linked from elsewhere', async () => {
    const image = await rawRequest(local.port, '/files/runs/plain-a/filters-0.png');
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
    expect((await rawRequest(local.port, '/files/runs/plain-a/leak.png')).status).toBe(404);
    expect((await rawRequest(local.port, '/files/runs/linked/secret.png')).status).toBe(404);
  });

  it.each([
    '/files/runs/plain-a/../../index.sqlite',
    '/files/runs/plain-a/..%2f..%2fconfig.json',
    '/files/runs/plain-a/%2e%2e%2fconfig.json',
    '/files/runs/plain-a/%2E%2E/plain-b/config.json',
    '/files/runs/%2e%2e/plain-a/filters-0.png',
    '/files/runs/plain-a/..%5cconfig.json',
    '/files/runs/plain-a/%2Fetc%2Fpasswd',
    '/files/runs/plain-a/config.json',
    '/files/runs/plain-a/%00.png',
    '/assets/..%2f..%2fpackage.json',
    '/assets/../../package.json',
    '//etc/passwd',
    '/etc/passwd',
    'http://127.0.0.1/../../etc/passwd',
    '/api/runs/..%2f..%2f/plain-a',
    '/api/runs/runs/..%2fplain-a/metrics',
  ])('refuses %s', async (path) => {
    const response = await rawRequest(local.port, path);
    expect([400, 404]).toContain(response.status);
    expect(response.body).not.toMatch(/root:|"name": "randlab"|SQLite format|schedule/);
  });
});

describe('randlab serve: what may write', () => {
  it('allows no method but GET, HEAD and the confirmed re-run POST', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH'])
      expect((await rawRequest(local.port, '/api/runs', { method })).status, method).toBe(405);
    expect((await rawRequest(local.port, '/api/runs', { method: 'POST' })).status).toBe(405);
    // Without the dashboard's confirmation header (a cross-site form cannot send it): refused.
    expect((await rawRequest(local.port, '/api/experiments/fig20-smoke/rerun', { method: 'POST' })).status).toBe(403);
  });

  it('answers HEAD of the event stream with its headers and ends', async () => {
    const head = await rawRequest(local.port, '/api/events', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(head.body).toBe('');
  });

  it('sends a content security policy that runs no inline script', async () => {
    const page = await rawRequest(local.port, '/runs');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self' 'unsafe-eval';/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});
