// The WASM heap allocator: alignment, no overlap, reuse after free, growth keeps data, size classes.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { MAX_PAGES, PAGE_BYTES, WasmHeap, classIndex, sizeClass } from '../src/backends/wasm/memory.js';
import { webAssembly } from '../src/backends/wasm/wasm-api.js';
import type { WasmMemory } from '../src/backends/wasm/wasm-api.js';

function memory(initial: number): WasmMemory {
  return new (webAssembly()!.Memory)({ initial, maximum: MAX_PAGES, shared: true });
}

describe('sizeClass', () => {
  it('covers the request with at most 25% slack, in multiples of 16', () => {
    // Small sizes densely, then both sides of every power of two up to 2³⁴ (the class rule switches to integer
    // operations below 2³², the float formula above).
    const sizes: number[] = [];
    for (let bytes = 0; bytes < 200_000; bytes += bytes < 1000 ? 1 : 97) sizes.push(bytes);
    for (let e = 6; e <= 34; e++) for (const d of [-17, -1, 0, 1, 15, 16, 1000]) sizes.push(2 ** e + d);
    for (const bytes of sizes) {
      const s = sizeClass(bytes);
      expect(s).toBeGreaterThanOrEqual(Math.max(bytes, 16));
      expect(s % 16).toBe(0);
      if (bytes > 64) expect(s).toBeLessThanOrEqual(bytes * 1.25 + 16);
    }
  });
});

describe('classIndex', () => {
  // Every size class below 4 GiB in increasing order, written out from the rule (16-byte steps to 64, then 4 per power of two).
  const classes: number[] = [16, 32, 48, 64];
  for (let e = 6; e < 32; e++) for (let q = 5; q <= 8; q++) classes.push(q * 2 ** (e - 2));

  it('numbers the size classes 0, 1, 2, … in increasing order, below 128', () => {
    classes.forEach((c, i) => expect(classIndex(c)).toBe(i));
    expect(classes.length).toBeLessThanOrEqual(128);
    for (let bytes = 1; bytes < 300_000; bytes += bytes < 2000 ? 1 : 89) expect(classes[classIndex(sizeClass(bytes))]).toBe(sizeClass(bytes));
  });

  it('gives a free block the index of the largest class it holds', () => {
    const rng = new Rng(7);
    const sizes = [16, 48, 64, 80, 4080, 4096, 4112, 2 ** 32 - 16];
    for (let i = 0; i < 3000; i++) sizes.push(16 * (1 + rng.int(2 ** (4 + rng.int(24)))));
    for (const n of sizes) {
      const i = classIndex(n);
      expect(classes[i]!).toBeLessThanOrEqual(n);
      if (i + 1 < classes.length) expect(classes[i + 1]!).toBeGreaterThan(n);
    }
  });
});

describe('WasmHeap', () => {
  it('returns aligned, non-overlapping blocks above the base', () => {
    const heap = new WasmHeap(memory(1), 1000);
    const rng = new Rng(1);
    const blocks: Array<[number, number]> = [];
    for (let i = 0; i < 500; i++) {
      const n = rng.int(3000);
      const buf = heap.alloc(n);
      expect(buf.ptr % 16).toBe(0);
      expect(buf.ptr).toBeGreaterThanOrEqual(1000);
      expect(buf.f32.length).toBe(n);
      blocks.push([buf.ptr, buf.ptr + n * 4]);
    }
    blocks.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]![0]).toBeGreaterThanOrEqual(blocks[i - 1]![1]);
    expect(heap.liveCount).toBe(500);
  });

  it('reuses a freed block for the next request of its size class', () => {
    const heap = new WasmHeap(memory(1), 64);
    const a = heap.alloc(1000);
    const b = heap.alloc(1000);
    heap.free(a);
    const c = heap.alloc(990); // same class as 1000 floats
    expect(c.ptr).toBe(a.ptr);
    expect(heap.liveCount).toBe(2);
    heap.free(b);
    heap.free(c);
    expect(heap.liveCount).toBe(0);
    expect(heap.liveBytes).toBe(0);
  });

  it('throws on double free and on unknown pointers', () => {
    const heap = new WasmHeap(memory(1), 64);
    const a = heap.alloc(10);
    heap.free(a);
    expect(() => heap.free(a)).toThrow(/not a live block/);
    expect(() => heap.free(12345)).toThrow(/not a live block/);
  });

  it('grows the memory on demand and keeps existing data', () => {
    const mem = memory(1);
    const heap = new WasmHeap(mem, 64);
    const a = heap.alloc(1000);
    for (let i = 0; i < a.length; i++) a.f32[i] = i * 0.5;
    const big = heap.alloc(3 * PAGE_BYTES); // 12 pages of floats
    expect(heap.memoryBytes).toBeGreaterThanOrEqual(big.ptr + big.length * 4);
    big.f32.fill(7);
    const fresh = heap.view(a);
    for (let i = 0; i < a.length; i++) {
      expect(a.f32[i]).toBe(i * 0.5); // the old view stays valid on shared memory
      expect(fresh[i]).toBe(i * 0.5);
    }
  });

  it('when the host refuses the usual growth it grows by what is needed, and names the failed size when even that is refused', () => {
    // A memory whose own maximum (10 pages) is below MAX_PAGES stands in for a host that refuses to grow.
    const heap = new WasmHeap(new (webAssembly()!.Memory)({ initial: 8, maximum: 10, shared: true }), 64);
    heap.allocBytes(8 * PAGE_BYTES); // needs 9 pages; the usual growth (to 12) is refused
    expect(heap.memoryBytes).toBe(9 * PAGE_BYTES);
    expect(() => heap.allocBytes(2 * PAGE_BYTES)).toThrow(new RegExp(`out of memory \\(growing the wasm memory from ${9 * PAGE_BYTES} to ${11 * PAGE_BYTES} bytes failed`));
  });

  it('holds(end) follows the memory size, also when the memory grew outside the heap', () => {
    const mem = memory(1);
    const heap = new WasmHeap(mem, 64);
    expect(heap.holds(PAGE_BYTES)).toBe(true);
    expect(heap.holds(PAGE_BYTES + 1)).toBe(false);
    heap.alloc(PAGE_BYTES); // grows the memory through the heap
    expect(heap.holds(heap.memoryBytes)).toBe(true);
    expect(heap.holds(heap.memoryBytes + 1)).toBe(false);
    const before = heap.memoryBytes;
    mem.grow(3);
    expect(heap.holds(before + 3 * PAGE_BYTES)).toBe(true);
    expect(heap.holds(before + 3 * PAGE_BYTES + 1)).toBe(false);
  });

  it('refuses to grow past the maximum', () => {
    const heap = new WasmHeap(memory(1), 64);
    expect(MAX_PAGES * PAGE_BYTES).toBe(2 ** 32);
    expect(() => heap.allocBytes(MAX_PAGES * PAGE_BYTES + 1)).toThrow(/out of memory .*capped at 4 GiB/);
  });
});

describe('WasmHeap under shapes that vary from step to step', () => {
  it('stops growing: blocks of larger classes serve smaller requests instead of every size keeping its own pool', () => {
    // A training step with layer dropout allocates tensors of R rows, R drawn anew each step; everything is freed
    // at the step's end. With one pool per size class the heap grows to the sum over R of each R's peak.
    const heap = new WasmHeap(memory(1), 1024);
    const rng = new Rng(3);
    let peakLive = 0;
    let reservedAt100 = 0;
    for (let step = 0; step < 400; step++) {
      const live: number[] = [];
      for (let layer = 0; layer < 6; layer++) {
        const R = 1 + rng.int(16);
        for (const unit of [4096, 1024, 16384, 512]) live.push(heap.allocBytes(R * unit));
        peakLive = Math.max(peakLive, heap.liveBytes);
      }
      for (const p of live) heap.free(p);
      if (step === 100) reservedAt100 = heap.reservedBytes;
    }
    expect(heap.liveCount).toBe(0);
    expect(heap.reservedBytes).toBeLessThanOrEqual(1.5 * peakLive);
    expect(heap.reservedBytes).toBeLessThanOrEqual(1.25 * reservedAt100);
  });

  it('serves a request from the smallest free block class that holds it, among many', () => {
    const heap = new WasmHeap(memory(1), 64);
    const rng = new Rng(3);
    // Free blocks of 60 different sizes, each fenced by a live block so that none merges with another.
    const free: Array<{ ptr: number; bytes: number }> = [];
    for (let i = 0; i < 60; i++) {
      const bytes = sizeClass(64 + rng.int(200_000));
      free.push({ ptr: heap.allocBytes(bytes), bytes });
      heap.allocBytes(16);
    }
    for (const b of free) heap.free(b.ptr);
    for (let t = 0; t < 40; t++) {
      const want = sizeClass(16 + rng.int(150_000));
      const fits = free.filter((b) => b.bytes >= want);
      const smallest = Math.min(...fits.map((b) => classIndex(b.bytes)));
      const ptr = heap.allocBytes(want);
      const got = free.find((b) => b.ptr === ptr);
      expect(got).toBeDefined();
      expect(classIndex(got!.bytes)).toBe(smallest);
      heap.free(ptr);
    }
  });

  it('splits a larger free block for a smaller request, and merges neighbours back when freed', () => {
    const heap = new WasmHeap(memory(1), 1024);
    const a = heap.allocBytes(8000); // class 8192
    const guard = heap.allocBytes(64); // keeps a below the top
    heap.free(a);
    expect(heap.freeBytes).toBe(8192);
    const b = heap.allocBytes(5000); // class 5120, taken from a's block
    const c = heap.allocBytes(2000); // class 2048, from the rest of it
    expect(b).toBe(a);
    expect(c).toBe(a + 5120);
    expect(heap.freeBytes).toBe(8192 - 5120 - 2048);
    heap.free(b);
    heap.free(c);
    expect(heap.freeBytes).toBe(8192); // one block again
    expect(heap.allocBytes(8000)).toBe(a);
    heap.free(guard);
  });

  it('random allocations and frees: live blocks never overlap and keep their contents', () => {
    const heap = new WasmHeap(memory(1), 4096);
    const rng = new Rng(11);
    const live = new Map<number, { n: number; tag: number }>();
    for (let op = 0; op < 4000; op++) {
      if (live.size > 0 && rng.next() < 0.45) {
        const keys = [...live.keys()];
        const ptr = keys[rng.int(keys.length)]!;
        const { n, tag } = live.get(ptr)!;
        const v = new Float32Array(heap.memory.buffer, ptr, n);
        for (let i = 0; i < n; i += 97) expect(v[i]).toBe(tag);
        heap.free(ptr);
        live.delete(ptr);
      } else {
        const n = 1 + rng.int(rng.next() < 0.2 ? 60_000 : 600);
        const ptr = heap.allocBytes(n * 4);
        expect(ptr % 16).toBe(0);
        new Float32Array(heap.memory.buffer, ptr, n).fill(op);
        live.set(ptr, { n, tag: op });
      }
    }
    const spans = [...live].map(([p, { n }]) => [p, p + n * 4] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    for (const p of [...live.keys()]) heap.free(p);
    expect(heap.liveCount).toBe(0);
    expect(heap.freeBytes).toBe(0); // everything merged back into the bump region
  });
});
