// Run with: node --experimental-wasm-relaxed-simd --import tsx test/helpers/threads-child.ts [keep]
// Prints one JSON line: mismatches of the 2-thread relaxed (and plain) kernels against 1 thread. With `keep` it
// leaves a 2-thread pool running, undisposed, after the last call: the process must still exit on its own.
import { F32WasmLinear } from '../../src/index.js';
import { relaxedSimdSupported } from '../../src/packed/wasm.js';
import { createQuantThreads } from '../../src/threads.js';
import { runThreadCases } from './threads-cases.js';

if (process.argv[2] === 'keep') {
  const pool = await createQuantThreads({ threads: 2 });
  const f = new F32WasmLinear(new Float32Array(64 * 64).fill(1), 64, 64, undefined, pool.kernels);
  const y = f.matmul(new Float32Array(64).fill(1), 1);
  process.stdout.write(JSON.stringify({ kept: y[0] === 64 }) + '\n');
} else {
  const supported = relaxedSimdSupported();
  const bad = supported ? await runThreadCases('relaxed', 2, 11) : [];
  process.stdout.write(JSON.stringify({ supported, bad }) + '\n');
}
