/**
 * Reuse of float32 (and int32) buffers between training steps.
 *
 * Why: a training step allocates the same activation and gradient buffers every time, some of
 * them hundreds of MB. Fresh typed arrays are zero-filled and collected late, which costs time
 * and lets resident memory drift. Tensors created inside `tidy` take their buffers from here and
 * give them back when the scope ends, so after the first step no new memory is needed.
 * Buffers handed out may hold stale values: every kernel writes its whole output.
 */
type PooledArray = Float32Array | Int32Array;

/** Free buffers of one element type, by length. */
class FreeLists<T extends PooledArray> {
  private readonly lists = new Map<number, T[]>();

  pop(length: number): T | undefined {
    return this.lists.get(length)?.pop();
  }

  push(buffer: T): void {
    let list = this.lists.get(buffer.length);
    if (!list) {
      list = [];
      this.lists.set(buffer.length, list);
    }
    list.push(buffer);
  }

  clear(): void {
    this.lists.clear();
  }
}

export class BufferPool {
  private readonly floats = new FreeLists<Float32Array>();
  private readonly ints = new FreeLists<Int32Array>();
  private pooledBytes = 0;
  private allocatedBytes = 0;

  acquire(length: number): Float32Array {
    return this.take(this.floats, length, Float32Array);
  }

  /** An int32 buffer (max-pool winners and other integer scratch), pooled apart from the float32 ones. */
  acquireInt32(length: number): Int32Array {
    return this.take(this.ints, length, Int32Array);
  }

  release(buffer: PooledArray): void {
    if (buffer.length === 0) return;
    if (buffer instanceof Float32Array) this.floats.push(buffer);
    else this.ints.push(buffer);
    this.pooledBytes += buffer.byteLength;
  }

  /** Drop every pooled buffer (e.g. when a run switches to a model of another shape). */
  clear(): void {
    this.floats.clear();
    this.ints.clear();
    this.pooledBytes = 0;
  }

  stats(): { pooledBytes: number; allocatedBytes: number } {
    return { pooledBytes: this.pooledBytes, allocatedBytes: this.allocatedBytes };
  }

  private take<T extends PooledArray>(free: FreeLists<T>, length: number, type: new (length: number) => T): T {
    const buffer = free.pop(length);
    if (buffer) {
      this.pooledBytes -= buffer.byteLength;
      return buffer;
    }
    this.allocatedBytes += length * 4;
    return new type(length);
  }
}

export const bufferPool = new BufferPool();
