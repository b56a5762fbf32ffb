/**
 * The dashboard's HTTP server: Node's own http module and a table of routes. The API is a handful of GET
 * routes, an event stream and one POST, and no URL is ever mapped onto a folder: page assets come from a
 * fixed list of files, and the only files of the served folders handed out are PNGs directly in a run's
 * folder, found by run id and file name and checked to lie inside that folder after resolving links.
 * A framework would add a dependency and still leave those checks to be written here.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRunId } from '../runs/store.js';
import { hasToken, loopbackHostHeader, queryHasToken, requiredToken, TOKEN_COOKIE } from './access.js';
import { Catalog } from './catalog.js';
import { curvesSpec } from './curves.js';
import { experimentDetails, listExperiments } from './experiments.js';
import { LiveFeed, type LiveEvent } from './live.js';
import { IMAGE_NAME, listRunSummaries, runDetails, runMetrics, runSummary } from './runs.js';

export interface ServeOptions {
  /** Run stores, experiment folders, or folders of experiment folders. */
  readonly dirs: readonly string[];
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Required on any address but loopback; when given, required on loopback too. */
  readonly token?: string;
  /** How often the event stream looks for new metrics. */
  readonly pollMs?: number;
  /** Starts `randlab experiment` for a folder's failed runs; the POST route's only effect. */
  readonly rerun?: (experimentDir: string) => Promise<{ started: boolean; message: string }>;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The folder of an npm package's main file (vega's builds sit beside it). */
function packageBuildDir(name: string): string {
  return dirname(fileURLToPath(import.meta.resolve(name)));
}

/** src/serve/public, found from src/serve (tsx, tests) and from dist/serve (the built CLI) alike. */
function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, 'public'), join(here, '..', '..', 'src', 'serve', 'public')])
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  throw new Error(`randlab serve: the dashboard's page files are missing (looked in ${here}/public)`);
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** Every file the pages load, by URL; nothing else is served from disk but run images. */
function assetTable(): Map<string, string> {
  const pub = publicDir();
  return new Map([
    ['/assets/app.js', join(pub, 'app.js')],
    ['/assets/style.css', join(pub, 'style.css')],
    ['/assets/vega.min.js', join(packageBuildDir('vega'), 'vega.min.js')],
    ['/assets/vega-lite.min.js', join(packageBuildDir('vega-lite'), 'vega-lite.min.js')],
  ]);
}

/** The page paths the app renders (one HTML shell; app.js reads the path and the query). */
const PAGES = [/^\/$/, /^\/runs$/, /^\/compare$/, /^\/runs\/[^/]+\/[^/]+$/, /^\/experiments\/[^/]+$/];

const SECURITY_HEADERS = {
  // Vega compiles its expressions with Function(): 'unsafe-eval'; no inline script runs, so injected markup cannot.
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The decoded segments of a URL path. A segment that decodes to something a file system would read as
 * a separator or a step up (`..`, `%2e%2e`, `%2f`, `\`) is refused, not normalised away.
 */
export function pathSegments(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw new HttpError(400, 'the path must start with /');
  const parts = rawPath.slice(1).split('/');
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((part) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      throw new HttpError(400, 'the path is not valid percent-encoding');
    }
    if (decoded === '' || decoded === '.' || decoded === '..' || /[/\\\0]/.test(decoded))
      throw new HttpError(400, `path segment '${part}' is not allowed`);
    return decoded;
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

function sendFile(response: ServerResponse, path: string): void {
  const type = MIME[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
  response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type });
  response.end(readFileSync(path));
}

/**
 * A run image, if `name` is a PNG directly inside the run's folder, and that folder directly inside the
 * store, once links are resolved (a linked file or a linked run folder pointing elsewhere is refused).
 */
function runImagePath(storeRoot: string, runDir: string, name: string): string | undefined {
  if (!IMAGE_NAME.test(name)) return undefined;
  const path = join(runDir, name);
  if (!existsSync(path)) return undefined;
  const real = realpathSync(path);
  const realDir = realpathSync(runDir);
  return dirname(real) === realDir && dirname(realDir) === realpathSync(storeRoot) ? real : undefined;
}

function numberParam(url: URL, name: string, fallback: number, range: [number, number]): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < range[0] || value > range[1])
    throw new HttpError(400, `query parameter ${name} must be a number in [${range[0]}, ${range[1]}], got '${text}'`);
  return value;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = requiredToken(host, options.token);
  const catalog = new Catalog(options.dirs);
  const feed = new LiveFeed(catalog, options.pollMs ?? 500);
  const assets = assetTable();
  const indexHtml = join(publicDir(), 'index.html');
  let port = 0;

  const runParts = (source: string, id: string) => {
    checkRunIdOr404(id);
    return { source, id };
  };

  async function route(request: IncomingMessage, response: ServerResponse, url: URL, segments: string[]) {
    const method = request.method ?? 'GET';
    const path = `/${segments.join('/')}`;
    if (method === 'POST') {
      if (segments.length === 4 && segments[0] === 'api' && segments[1] === 'experiments' && segments[3] === 'rerun')
        return rerunFailed(request, response, segments[2]!);
      throw new HttpError(405, `POST ${path} is not an action`);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} is not allowed`);
    if (PAGES.some((page) => page.test(path))) return sendFile(response, indexHtml);
    const asset = assets.get(path);
    if (asset) return sendFile(response, asset);
    if (segments[0] === 'files' && segments.length === 4) {
      const { source, id } = runParts(segments[1]!, segments[2]!);
      const found = catalog.run(source, id);
      const file = found && runImagePath(found.source.store.root, found.source.store.runDir(id), segments[3]!);
      if (!file) throw new HttpError(404, `no image ${segments[3]} in run ${source}/${id}`);
      return sendFile(response, file);
    }
    if (segments[0] !== 'api') throw new HttpError(404, `nothing at ${path}`);
    const [, what, a, b, c] = segments;
    if (what === 'runs' && segments.length === 2) return sendJson(response, 200, listRunSummaries(catalog));
    if (what === 'runs' && (segments.length === 4 || (segments.length === 5 && c === 'metrics'))) {
      const { source, id } = runParts(a!, b!);
      const body = c === 'metrics' ? runMetrics(catalog, source, id) : runDetails(catalog, source, id);
      if (!body) throw new HttpError(404, `no run ${source}/${id}`);
      return sendJson(response, 200, body);
    }
    if (what === 'experiments' && segments.length === 2) return sendJson(response, 200, listExperiments(catalog));
    if (what === 'experiments' && segments.length === 3) {
      const details = await experimentDetails(catalog, a!);
      if (!details) throw new HttpError(404, `no experiment ${a}`);
      return sendJson(response, 200, details);
    }
    if (what === 'curves' && segments.length === 2) return sendJson(response, 200, curves(url));
    if (what === 'events' && segments.length === 2) return events(request, response, url);
    throw new HttpError(404, `nothing at ${path}`);
  }

  function checkRunIdOr404(id: string): void {
    try {
      checkRunId(id);
    } catch {
      throw new HttpError(404, `no run '${id}'`);
    }
  }

  /** `?runs=a/b,c/d&metric=…&group=…&smooth=…&logx=1&logy=1`: the curves chart of the chosen runs. */
  function curves(url: URL) {
    const keys = (url.searchParams.get('runs') ?? '').split(',').filter(Boolean);
    const metric = url.searchParams.get('metric');
    if (!metric) throw new HttpError(400, 'query parameter metric is required');
    if (keys.length === 0) throw new HttpError(400, 'query parameter runs must name at least one run');
    const runs = keys.map((key) => {
      const [source, id, ...rest] = key.split('/');
      const summary = source && id && rest.length === 0 ? runSummary(catalog, source, id) : undefined;
      if (!summary) throw new HttpError(404, `no run ${key}`);
      return { key, fields: summary.fields, metrics: runMetrics(catalog, summary.source, summary.id) ?? [] };
    });
    const group = url.searchParams.get('group');
    return curvesSpec(runs, {
      metric,
      ...(group ? { groupBy: group } : {}),
      smoothing: numberParam(url, 'smooth', 0, [0, 0.99]),
      logX: url.searchParams.get('logx') === '1',
      logY: url.searchParams.get('logy') === '1',
      width: numberParam(url, 'width', 640, [100, 2000]),
      height: numberParam(url, 'height', 260, [60, 1200]),
    });
  }

  /** Server-sent events: `metrics` and `run` events (live.ts), for every run or the `?runs=` chosen. */
  function events(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const only = new Set((url.searchParams.get('runs') ?? '').split(',').filter(Boolean));
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
    });
    // HEAD asks only whether the stream is there: its headers, then the end (a stream never ends otherwise).
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    response.write('retry: 1000\n\n');
    const send = (event: LiveEvent) => {
      if (only.size > 0 && !only.has(event.run)) return;
      response.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unsubscribe = feed.subscribe(send);
    // Comments keep proxies from closing an idle stream.
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    request.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  }

  async function rerunFailed(request: IncomingMessage, response: ServerResponse, name: string): Promise<void> {
    // A cross-site form cannot set this header, and browsers send Origin with every POST.
    const origin = request.headers.origin;
    if (
      request.headers['x-randlab-confirm'] !== 'rerun' ||
      (origin !== undefined && origin !== `http://${request.headers.host}`)
    )
      throw new HttpError(403, 'the re-run action needs the confirmation header from the dashboard');
    const source = catalog.get(name);
    if (!source?.experimentDir) throw new HttpError(404, `no experiment ${name}`);
    if (!options.rerun) throw new HttpError(501, 'this server was started without the re-run action');
    sendJson(response, 202, await options.rerun(source.experimentDir));
  }

  const server = createServer((request, response) => {
    const rawUrl = request.url ?? '/';
    const url = new URL(rawUrl, 'http://localhost');
    const handle = async () => {
      if (!token && !loopbackHostHeader(request, port)) throw new HttpError(403, 'unexpected Host header');
      if (token && !hasToken(request, token)) {
        if (queryHasToken(url, token)) {
          // The first visit: keep the token in a cookie and drop it from the address bar.
          url.searchParams.delete('token');
          response.writeHead(303, {
            ...SECURITY_HEADERS,
            'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
            Location: `${url.pathname}${url.search}`,
          });
          response.end();
          return;
        }
        throw new HttpError(
          401,
          'this server needs its token: open the URL it printed, or send Authorization: Bearer <token>',
        );
      }
      await route(request, response, url, pathSegments(rawUrl.split('?')[0]!));
    };
    handle().catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (response.headersSent) response.end();
      else sendJson(response, status, { error: message });
    });
  });

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => resolvePromise());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((resolvePromise) => {
        feed.stop();
        server.closeAllConnections();
        server.close(() => {
          catalog.close();
          resolvePromise();
        });
      }),
  };
}
