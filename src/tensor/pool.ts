/**
 * Reuse of float32 buffers between training steps.
 *
 * Why: a training step allocates the same activation and gradient buffers every time, some of
 * them hundreds of MB. Fresh typed arrays are zero-filled and collected late, which costs time
 * and lets resident memory drift. Tensors created inside `tidy` take their buffers from here and
 * give them back when the scope ends, so after the first step no new memory is needed.
 * Buffers handed out may hold stale values: every kernel writes its whole output.
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private allocatedBytes = 0;

  acquire(length: number): Float32Array {
    const list = this.free.get(length);
    const buffer = list?.pop();
    if (buffer) {
      this.pooledBytes -= buffer.byteLength;
      return buffer;
    }
    this.allocatedBytes += length * 4;
    return new Float32Array(length);
  }

  release(buffer: Float32Array): void {
    if (buffer.length === 0) return;
    let list = this.free.get(buffer.length);
    if (!list) {
      list = [];
      this.free.set(buffer.length, list);
    }
    list.push(buffer);
    this.pooledBytes += buffer.byteLength;
  }

  /** Drop every pooled buffer (e.g. when a run switches to a model of another shape). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  stats(): { pooledBytes: number; allocatedBytes: number } {
    return { pooledBytes: this.pooledBytes, allocatedBytes: this.allocatedBytes };
  }
}

export const bufferPool = new BufferPool();
