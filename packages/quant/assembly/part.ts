// The entry of @bitskip/quant/threads' workers, compiled only into the shared-memory builds (scripts/build-wasm.mjs):
// tensor-core's worker pool calls runPart(ctrl, index, call) in worker `index`, with `call` the address of that
// worker's call slot in the control block (src/threads.ts writes it): the op code (0 ternaryPlain, 1 ternaryRelaxed,
// 2 matmulF32, −1 nothing to do), then the kernel's arguments as i32.
import { ternaryPlain } from './common';
import { matmulF32 } from './f32';
import { ternaryRelaxed } from './relaxed';

export function runPart(ctrl: usize, index: i32, call: usize): void {
  const op = load<i32>(call);
  if (op == 0) {
    ternaryPlain(load<usize>(call, 4), load<usize>(call, 8), load<usize>(call, 12), load<usize>(call, 16), load<usize>(call, 20), load<i32>(call, 24), load<i32>(call, 28), load<i32>(call, 32), load<usize>(call, 36));
  } else if (op == 1) {
    // The plain build has no relaxed kernel (the branch is not compiled there); JS never asks it for one.
    if (ASC_FEATURE_RELAXED_SIMD) {
      ternaryRelaxed(load<usize>(call, 4), load<usize>(call, 8), load<usize>(call, 12), load<usize>(call, 16), load<usize>(call, 20), load<i32>(call, 24), load<i32>(call, 28), load<i32>(call, 32), load<usize>(call, 36));
    } else {
      unreachable();
    }
  } else if (op == 2) {
    matmulF32(load<usize>(call, 4), load<usize>(call, 8), load<usize>(call, 12), load<i32>(call, 16), load<i32>(call, 20), load<i32>(call, 24));
  }
}
