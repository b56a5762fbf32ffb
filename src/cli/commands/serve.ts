/**
 * `randlab serve [DIR…] [--port 8080] [--host 127.0.0.1] [--token T]`: the live dashboard of the run stores
 * and experiment folders given (default: the current run store and experiments-out/). Runs until Ctrl-C.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { resolveStoreRoot } from '../../runs/store.js';
import { rerunLauncher } from '../../serve/rerun.js';
import { startServer } from '../../serve/server.js';

interface ServeCommandOptions {
  port: string;
  host: string;
  token?: string;
}

function portNumber(text: string): number {
  const port = Number(text);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be an integer from 0 to 65535, got '${text}'`);
  return port;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('a live dashboard of runs and experiments in the browser (docs: README, "Watching runs")')
    .argument(
      '[dirs...]',
      'run stores, experiment folders or folders of them (default: the run store and experiments-out/)',
    )
    .option('--port <n>', 'port (0: any free one)', '8080')
    .option('--host <address>', 'address to listen on; any but loopback needs --token', '127.0.0.1')
    .option('--token <secret>', 'required of every request (default $RANDLAB_TOKEN)')
    .action(async (dirs: string[], options: ServeCommandOptions) => {
      const token = options.token ?? process.env.RANDLAB_TOKEN;
      const served = dirs.length > 0 ? dirs : [resolveStoreRoot(), resolve('experiments-out')];
      const running = await startServer({
        dirs: served,
        host: options.host,
        port: portNumber(options.port),
        ...(token ? { token } : {}),
        // The re-run action starts this same randlab (node, its flags and entry script) as `randlab experiment`.
        rerun: rerunLauncher([process.execPath, ...process.execArgv, process.argv[1]!]),
      });
      const address = token ? `${running.url}?token=${encodeURIComponent(token)}` : running.url;
      process.stdout.write(`randlab serve: ${address}\n  serving ${served.join(', ')}\n`);
      await new Promise<void>((done) => {
        const stop = () => void running.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
