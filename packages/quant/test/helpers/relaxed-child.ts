// Run with: node --experimental-wasm-relaxed-simd --import tsx test/helpers/relaxed-child.ts
// Prints one JSON line: whether relaxed SIMD validated, and the mismatches of the relaxed ternary kernel and of
// the relaxed (FMA) fp32 baseline.
import { relaxedSimdSupported } from '../../src/packed/wasm.js';
import { runF32Cases, runKernelCases } from './kernel-cases.js';

const supported = relaxedSimdSupported();
process.stdout.write(JSON.stringify({ supported, bad: supported ? [...runKernelCases('relaxed', 7), ...runF32Cases('relaxed', 7)] : [] }) + '\n');
