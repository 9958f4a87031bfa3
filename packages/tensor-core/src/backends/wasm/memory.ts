// A small allocator for buffers in the backend's shared WebAssembly.Memory: segregated free lists by size
// class (4 classes per power of two, so at most 25% slack), bump allocation above the module's static data,
// growth on demand. Freed blocks go back to their class's list and are reused by the next request of the
// same class; the heap never shrinks. Training steps allocate the same shapes every step, which this serves
// in O(1) with no fragmentation search.
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
    const buffer = this.memory.buffer;
    if (this.cached.buffer !== buffer) this.cached = new Float32Array(buffer, this.ptr, this.length);
    return this.cached;
  }
}

/** Bytes reserved for a request of `bytes`: multiples of 16 up to 64, then 4 classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 64) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const e = Math.floor(Math.log2(bytes - 1));
  const quarter = 2 ** (e - 2);
  return Math.ceil(bytes / quarter) * quarter;
}

export class WasmHeap {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly live = new Map<number, number>();
  private liveBytesCount = 0;

  /** `base`: first usable byte (the module's __heap_base); everything below belongs to the module. */
  constructor(
    readonly memory: WasmMemory,
    base: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** Allocate `bytes` (16-byte aligned) and return the byte offset. Contents are unspecified. */
  allocBytes(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`WasmHeap.allocBytes: bad size ${bytes}`);
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      this.ensure(ptr + size);
      this.top = ptr + size;
      // Touch the whole block now, size-class slack included: otherwise its pages enter the resident set only
      // when a later, larger request of the same class reuses it, and RSS creeps up long after the heap has
      // stopped growing. (Fresh memory is zero, so this changes no contents.)
      new Uint8Array(this.memory.buffer, ptr, size).fill(0);
    }
    this.live.set(ptr, size);
    this.liveBytesCount += size;
    return ptr;
  }

  /** Allocate `length` floats; `f32` views them. Contents are unspecified (reused blocks keep old data). */
  alloc(length: number): WasmBuffer {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`WasmHeap.alloc: bad length ${length}`);
    return new HeapBuffer(this.memory, this.allocBytes(length * 4), length);
  }

  /** Return a block to its free list. Freeing twice, or a pointer not from this heap, throws. */
  free(block: number | WasmBuffer): void {
    const ptr = typeof block === 'number' ? block : block.ptr;
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`WasmHeap.free: ${ptr} is not a live block (double free?)`);
    this.live.delete(ptr);
    this.liveBytesCount -= size;
    let list = this.freeLists.get(size);
    if (list === undefined) this.freeLists.set(size, (list = []));
    list.push(ptr);
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
    return this.memory.buffer.byteLength;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
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
    }
  }
}
