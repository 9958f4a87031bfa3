// The Web Worker of scripts/pool-matmul.ts: fp32 matmuls on the wasm backend of @bitskip/tensor-core/web with 1
// and 2 threads (the Web Worker pool), interleaved; each figure is the median of 12 calls, readback included.
import { Rng, matmul, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import { initWasmBackend } from '@bitskip/tensor-core/web';

interface Scope {
  onmessage: ((e: { data: { rounds: number } }) => void) | null;
  postMessage(m: unknown): void;
}
const scope = self as unknown as Scope;
const SHAPES: [number, number, number][] = [
  [512, 512, 512],
  [182, 128, 1024], // the quick checkpoint's head in a 182-token prefill
];

scope.onmessage = (e) => {
  void run(e.data.rounds).then(
    (rows) => scope.postMessage({ rows }),
    (err: Error) => scope.postMessage({ error: err.message }),
  );
};

async function run(rounds: number): Promise<{ shape: string; round: number; threads: number; ms: number }[]> {
  const rows: { shape: string; round: number; threads: number; ms: number }[] = [];
  const rng = new Rng(1);
  for (const [m, k, n] of SHAPES) {
    const a = Float32Array.from({ length: m * k }, () => rng.next() - 0.5);
    const w = Float32Array.from({ length: k * n }, () => rng.next() - 0.5);
    for (let round = 0; round < rounds; round++) {
      for (const t of [1, 2]) {
        const b = await initWasmBackend({ name: `wasm-${t}`, threads: t });
        setBackend(`wasm-${t}`);
        const A = tensor(a, [m, k]);
        const W = tensor(w, [k, n]);
        const times: number[] = [];
        for (let i = 0; i < 12; i++) {
          const t0 = performance.now();
          tidy(() => void matmul(A, W).dataSync());
          times.push(performance.now() - t0);
        }
        A.dispose();
        W.dispose();
        setBackend('cpu');
        await b.destroy();
        times.sort((x, y) => x - y);
        rows.push({ shape: `${m}×${k}×${n}`, round, threads: b.info().threads, ms: times[6]! });
      }
    }
  }
  return rows;
}
