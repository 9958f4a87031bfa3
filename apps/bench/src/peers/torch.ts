// The PyTorch peer: apps/bench/peers/torch_step.py as a long-lived child process (one per thread count), driven by
// JSON lines on stdin/stdout, so that a suite's rounds interleave its steps with ours exactly as they interleave
// backends. Python is BITSKIP_PYTHON if set, else the first of /usr/bin/python3 (Debian's python3-torch lives there)
// and python3 on PATH that imports torch; none: the peer is unavailable (one line, rows skipped).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Peer, PeerSpec, PeerUnavailable } from './spec.js';
import { stepRecipe } from './spec.js';

export const TORCH_SCRIPT = join(import.meta.dirname, '../../peers/torch_step.py');

let found: { python: string; version: string } | { unavailable: string } | null = null;

/** The Python that imports torch (checked once per process), or why there is none. */
export function findTorchPython(): { python: string; version: string } | { unavailable: string } {
  if (found !== null) return found;
  const env = process.env.BITSKIP_PYTHON;
  const candidates = env !== undefined && env !== '' ? [env] : ['/usr/bin/python3', 'python3'];
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return (found = { python: py, version: r.stdout.trim() });
    tried.push(`${py}: ${r.error !== undefined ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : (r.stderr.trim().split('\n').pop() ?? `status ${r.status}`)}`);
  }
  return (found = { unavailable: `no Python with torch (${tried.join('; ')}); install Debian python3-torch and libopenblas0-pthread, or set BITSKIP_PYTHON` });
}

type Reply = { type: string; message?: string; reason?: string } & Record<string, unknown>;

/** A torch_step.py child: one JSON line out, one JSON line back, in order. */
class TorchProcess {
  private readonly pending: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private readonly stderr: string[] = [];
  private exited: string | null = null;

  constructor(
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const p = this.pending.shift();
      if (p === undefined) return;
      const r = JSON.parse(line) as Reply;
      if (r.type === 'error') p.reject(new Error(`${name} peer: ${r.message}`));
      else p.resolve(r);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 20) this.stderr.shift();
    });
    child.on('error', (e) => this.fail(e.message));
    child.on('close', (code, signal) => this.fail(signal !== null ? `killed by ${signal}` : `exited with status ${code}`));
  }

  private fail(why: string): void {
    this.exited ??= why;
    const tail = this.stderr.slice(-3).join(' | ');
    for (const p of this.pending.splice(0)) p.reject(new Error(`${this.name} peer: the Python process ${why}${tail === '' ? '' : ` (${tail})`}`));
  }

  request(obj: unknown): Promise<Reply> {
    if (this.exited !== null) return Promise.reject(new Error(`${this.name} peer: the Python process ${this.exited}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(obj)}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.exited !== null) return;
    const done = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await done;
  }
}

/**
 * Start the torch peer with `threads` threads (torch.set_num_threads and OMP/OpenBLAS/MKL thread counts, so that its
 * BLAS does not oversubscribe the cores), build the model and the optimizer, and wait for it to be ready.
 */
export async function openTorchPeer(threads: number, spec: PeerSpec): Promise<Peer | PeerUnavailable> {
  const name = `torch:${threads}`;
  const py = findTorchPython();
  if ('unavailable' in py) return { name, unavailable: py.unavailable };
  const n = String(threads);
  const child = spawn(py.python, [TORCH_SCRIPT], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // OMP_WAIT_POLICY PASSIVE unless set: with GOMP's default spin-waiting, torch's OpenMP threads spin against
    // OpenBLAS's own threads (and any neighbour) on 2 cores; a 2-thread step measured ~10× slower than with PASSIVE
    // on the project's machine type (2026-12-07, quick v1, batch 8 × 128: 6.6–19.8 s vs 0.44–1.99 s). The peer gets
    // its best configuration: a fair measuring stick, not a handicapped one.
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n, PYTHONUNBUFFERED: '1' },
  });
  const proc = new TorchProcess(name, child);
  const recipe = stepRecipe(spec);
  const ready = await proc.request({
    config: spec.model,
    batch: spec.batch,
    seq: spec.seq,
    threads,
    seed: spec.seed,
    ...recipe,
    optimizer: spec.optimizer,
    weights: spec.weights ?? null,
  });
  if (ready.type === 'unsupported') {
    await proc.close();
    return { name, unavailable: `torch peer: ${ready.reason}` };
  }
  const info = `PyTorch ${String(ready.torch)} (${py.python}), ${String(ready.threads)} thread${ready.threads === 1 ? '' : 's'}`;
  return {
    name,
    info,
    pid: child.pid,
    step: async () => {
      const r = await proc.request({ cmd: 'step' });
      return { ms: r.ms as number, loss: r.loss as number };
    },
    evalLoss: async (inputs, targets) => {
      const B = spec.batch;
      const T = inputs.length / B;
      const rows = (a: Int32Array): number[][] => Array.from({ length: B }, (_, b) => Array.from(a.subarray(b * T, (b + 1) * T)));
      const r = await proc.request({ cmd: 'eval', inputs: rows(inputs), targets: rows(targets) });
      return { loss: r.loss as number, final: r.final as number, exits: r.exits as number[] };
    },
    close: () => proc.close(),
  };
}
