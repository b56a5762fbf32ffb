/**
 * Prefetch worker: assembles the batches the main thread asks for. The dataset arrives once in
 * `workerData` (its pixels in a SharedArrayBuffer, so nothing big is copied); each request names
 * the epoch, position and example indices, and the finished batch is transferred back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AssemblySource, BatchRequest } from './assemble.js';
import { assembleBatch } from './assemble.js';

export interface WorkerRequest extends BatchRequest {
  readonly id: number;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'batch'; readonly id: number; readonly batch: ReturnType<typeof assembleBatch> }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('loader-worker must run in a worker thread');
const source = workerData as AssemblySource;

port.on('message', (request: WorkerRequest) => {
  let message: WorkerMessage;
  try {
    message = { type: 'batch', id: request.id, batch: assembleBatch(source, request) };
  } catch (error) {
    port.postMessage({ type: 'error', id: request.id, message: (error as Error).message } satisfies WorkerMessage);
    return;
  }
  const { batch } = message;
  port.postMessage(message, [
    batch.x.buffer as ArrayBuffer,
    batch.y.buffer as ArrayBuffer,
    batch.indices.buffer as ArrayBuffer,
  ]);
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage);
