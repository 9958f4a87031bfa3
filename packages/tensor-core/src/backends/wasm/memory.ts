// A small allocator for buffers in the backend's shared WebAssembly.Memory: requests rounded up to size classes
// (4 per power of two, so at most 25% slack), bump allocation above the module's static data, growth on demand.
// Freed blocks merge with free neighbours (boundary maps by start and end) and are kept in buckets by the largest
// class they hold; a request takes a block from the smallest bucket that serves it and splits off the rest, and a
// free run that reaches the top returns to the bump region. Shapes that change from step to step (layer dropout
// runs a layer on a varying number of rows) then reuse the same memory instead of each keeping a pool of its own.
// The memory itself never shrinks.
import type { WasmMemory } from './wasm-api.js';

export const PAGE_BYTES = 65536;
/** Maximum pages (4 GiB, all that wasm32 addresses). Must equal MAX_PAGES in scripts/build-wasm.mjs (the module's --maximumMemory). */
export const MAX_PAGES = 65536;
const ALIGN = 16;

/** A block of f32 in WASM memory: `ptr` is a byte offset, `f32` a view of exactly `length` floats. */
export interface WasmBuffer {
  readonly ptr: number;
  readonly length: number;
  readonly f32: Float32Array;
}

/** A heap block whose `f32` view follows memory growth (growth detaches an unshared memory's buffer). */
class HeapBuffer implements WasmBuffer {
  private cached: Float32Array;

  constructor(
    private readonly memory: WasmMemory,
    readonly ptr: number,
    readonly length: number,
  ) {
    this.cached = new Float32Array(memory.buffer, ptr, length);
  }

  get f32(): Float32Array {
    // Renewed only when growth detached the view (a shared memory's views stay valid): the runtime's control block
    // does the same, without reading memory.buffer on every access.
    if (this.cached.byteLength === 0 && this.length > 0) this.cached = new Float32Array(this.memory.buffer, this.ptr, this.length);
    return this.cached;
  }
}

/** Bytes reserved for a request of `bytes`: multiples of 16 up to 64, then 4 classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 64) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  // floor(log2(bytes − 1)) from the leading zeros below 2³² (every block the heap can hold), Math.log2 above.
  const e = bytes <= 2 ** 32 ? 31 - Math.clz32(bytes - 1) : Math.floor(Math.log2(bytes - 1));
  const quarter = 2 ** (e - 2);
  return Math.ceil(bytes / quarter) * quarter;
}

/**
 * The index of the largest size class ≤ n (n ≥ 16, a multiple of 16): the bucket of a free block of n bytes, and,
 * for n a size class, its own index. Classes in increasing order: 16, 32, 48, 64 → 0–3, then 4 per power of two
 * (80, 96, 112, 128 → 4–7, 160 … 256 → 8–11, …); a block below 4 GiB has an index below 111.
 */
export function classIndex(n: number): number {
  if (n <= 64) return (n >> 4) - 1;
  if (n >= 2 ** 32) {
    // Above every block the memory can hold (a request that will fail to grow it): the float formula.
    const big = Math.floor(Math.log2(n));
    return 3 + (big - 6) * 4 + (Math.floor(n / 2 ** (big - 2)) - 4);
  }
  // floor(log2 n) and floor(n / 2^(e − 2)) as integer operations (a free block is below 2³²).
  const e = 31 - Math.clz32(n);
  return 3 + (e - 6) * 4 + ((n >>> (e - 2)) - 4);
}

/** Bucket words: 4 × 32 bits cover every class index below 128. */
const BUCKET_WORDS = 4;

export class WasmHeap {
  private top: number;
  /** Highest byte ever handed out: memory below it has been touched (see allocBytes). */
  private touched: number;
  /** Free blocks by start (-> size) and by end (-> start), so that a freed block merges with free neighbours. */
  private readonly freeAt = new Map<number, number>();
  private readonly freeEnd = new Map<number, number>();
  /**
   * Free block starts by the index of the largest size class that fits in them: any block in bucket i serves a
   * request of class index ≤ i. `nonEmpty` has bit i set while bucket i holds a block, so a request finds the
   * smallest bucket that serves it with a few bit operations, however many classes the heap has seen.
   */
  private readonly buckets: Set<number>[] = Array.from({ length: BUCKET_WORDS * 32 }, () => new Set<number>());
  private readonly nonEmpty = new Uint32Array(BUCKET_WORDS);
  private readonly live = new Map<number, number>();
  private liveBytesCount = 0;
  private freeBytesCount = 0;
  /**
   * The memory's size as last read: it only grows, so a range inside it is inside the memory. Reading
   * `memory.buffer.byteLength` costs tens of nanoseconds, and every kernel call checks its buffers.
   */
  private knownBytes: number;

  /** `base`: first usable byte (the module's __heap_base); everything below belongs to the module. */
  constructor(
    readonly memory: WasmMemory,
    base: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
    this.touched = this.top;
    this.knownBytes = memory.buffer.byteLength;
  }

  /** Whether bytes [0, end) lie inside the memory (the cached size first; the memory itself only when that says no). */
  holds(end: number): boolean {
    return end <= this.knownBytes || end <= (this.knownBytes = this.memory.buffer.byteLength);
  }

  /** Allocate `bytes` (16-byte aligned) and return the byte offset. Contents are unspecified. */
  allocBytes(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`WasmHeap.allocBytes: bad size ${bytes}`);
    const size = sizeClass(bytes);
    let ptr = this.takeFree(size);
    if (ptr === undefined) {
      ptr = this.top;
      this.ensure(ptr + size);
      this.top = ptr + size;
      if (this.top > this.touched) {
        // Touch new memory now, size-class slack included: otherwise its pages enter the resident set only when a
        // later, larger request reuses the block, and RSS creeps up long after the heap has stopped growing.
        // (Fresh memory is zero, so this changes no contents.)
        new Uint8Array(this.memory.buffer, this.touched, this.top - this.touched).fill(0);
        this.touched = this.top;
      }
    }
    this.live.set(ptr, size);
    this.liveBytesCount += size;
    return ptr;
  }

  /** Take a free block of at least `size` bytes (the smallest bucket that serves it), splitting off the rest. */
  private takeFree(size: number): number | undefined {
    const best = this.firstBucketFrom(classIndex(size));
    if (best < 0) return undefined;
    const ptr = this.buckets[best]!.values().next().value!;
    const have = this.freeAt.get(ptr)!;
    this.removeFree(ptr, have);
    if (have > size) this.insertFree(ptr + size, have - size); // its successor is not free (it would have merged)
    return ptr;
  }

  /** The first non-empty bucket with index ≥ i, or −1. */
  private firstBucketFrom(i: number): number {
    let w = i >> 5;
    let bits = this.nonEmpty[w]! & (-1 << (i & 31));
    for (;;) {
      if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits & -bits);
      if (++w === BUCKET_WORDS) return -1;
      bits = this.nonEmpty[w]!;
    }
  }

  private insertFree(ptr: number, size: number): void {
    this.freeAt.set(ptr, size);
    this.freeEnd.set(ptr + size, ptr);
    const i = classIndex(size);
    this.buckets[i]!.add(ptr);
    this.nonEmpty[i >> 5]! |= 1 << (i & 31);
    this.freeBytesCount += size;
  }

  private removeFree(ptr: number, size: number): void {
    this.freeAt.delete(ptr);
    this.freeEnd.delete(ptr + size);
    const i = classIndex(size);
    const set = this.buckets[i]!;
    set.delete(ptr);
    if (set.size === 0) this.nonEmpty[i >> 5]! &= ~(1 << (i & 31));
    this.freeBytesCount -= size;
  }

  /** Allocate `length` floats; `f32` views them. Contents are unspecified (reused blocks keep old data). */
  alloc(length: number): WasmBuffer {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`WasmHeap.alloc: bad length ${length}`);
    return new HeapBuffer(this.memory, this.allocBytes(length * 4), length);
  }

  /**
   * Return a block: it merges with free neighbours (so blocks freed by one step serve any sizes the next step asks
   * for), and a free run that reaches the top goes back to the bump region. Freeing twice, or a pointer not from
   * this heap, throws.
   */
  free(block: number | WasmBuffer): void {
    const ptr = typeof block === 'number' ? block : block.ptr;
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`WasmHeap.free: ${ptr} is not a live block (double free?)`);
    this.live.delete(ptr);
    this.liveBytesCount -= size;
    let start = ptr;
    let end = ptr + size;
    const next = this.freeAt.get(end);
    if (next !== undefined) {
      this.removeFree(end, next);
      end += next;
    }
    const prev = this.freeEnd.get(start);
    if (prev !== undefined) {
      this.removeFree(prev, start - prev);
      start = prev;
    }
    if (end === this.top) this.top = start;
    else this.insertFree(start, end - start);
  }

  /** Bytes in free blocks below the bump pointer. */
  get freeBytes(): number {
    return this.freeBytesCount;
  }

  /** A fresh view of a buffer (views made before a memory.grow stay valid on shared memory, not on unshared). */
  view(buf: WasmBuffer): Float32Array {
    return new Float32Array(this.memory.buffer, buf.ptr, buf.length);
  }

  /** Number of live blocks (for leak checks). */
  get liveCount(): number {
    return this.live.size;
  }

  /** Bytes held by live blocks (size classes, not requested sizes). */
  get liveBytes(): number {
    return this.liveBytesCount;
  }

  /** Bytes below the bump pointer: every block ever carved out (live or on a free list); it never shrinks. */
  get reservedBytes(): number {
    return this.top;
  }

  /** Current size of the memory in bytes. */
  get memoryBytes(): number {
    return (this.knownBytes = this.memory.buffer.byteLength);
  }

  private ensure(end: number): void {
    if (this.holds(end)) return;
    const have = this.knownBytes;
    const havePages = have / PAGE_BYTES;
    const needPages = Math.ceil(end / PAGE_BYTES);
    // Grow by at least half the current size so that a run of small growths costs few grow calls.
    const want = Math.min(MAX_PAGES, Math.max(needPages, Math.ceil(havePages * 1.5)));
    if (needPages > MAX_PAGES) {
      throw new RangeError(
        `WasmHeap: out of memory (${end} bytes requested, maximum ${MAX_PAGES * PAGE_BYTES}: the wasm backend's memory is capped at ${(MAX_PAGES * PAGE_BYTES) / 2 ** 30} GiB; use a smaller batch, sequence or model, or another backend)`,
      );
    }
    try {
      this.memory.grow(want - havePages);
    } catch (e) {
      // The host may refuse a grow below the maximum (address space or memory limits): say what was asked.
      if (want === needPages) throw new RangeError(`WasmHeap: out of memory (growing the wasm memory from ${have} to ${want * PAGE_BYTES} bytes failed: ${(e as Error).message})`, { cause: e });
      // Ask for what is needed only, not the usual half again.
      try {
        this.memory.grow(needPages - havePages);
      } catch (e2) {
        throw new RangeError(`WasmHeap: out of memory (growing the wasm memory from ${have} to ${needPages * PAGE_BYTES} bytes failed: ${(e2 as Error).message})`, { cause: e2 });
      }
    } finally {
      this.knownBytes = this.memory.buffer.byteLength;
    }
  }
}
