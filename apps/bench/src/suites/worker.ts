// worker: takes grid cells from the BullMQ queue (`bench study --grid … --queue redis://…` fills it), runs train and
// eval for each (apps/bench/src/grid/cell.ts) and publishes the result into the shared results location. Start any
// number, on any number of machines. A worker that dies loses nothing complete: its job's lock lapses, BullMQ's
// stalled-job check hands the job to another worker, and that one resumes from the cell's last checkpoint in the
// shared work directory. Job progress (stage, step, loss) goes through BullMQ's job progress.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { CellError, ROOT, failedKey, runCell } from '../grid/cell.js';
import type { CellFailure } from '../grid/cell.js';
import { GridError, codeVersion } from '../grid/definition.js';
import { QUEUE_NAME, checkRedis, connectionOf, parseRedisUrl } from '../grid/queue.js';
import type { JobData, JobResult } from '../grid/queue.js';
import { openStore } from '../grid/store.js';
import { UsageError } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

export interface WorkerOptions {
  queue: string;
  results: string | null;
  dataDir: string | null;
  lockSeconds: number;
}

export function parseWorkerArgs(args: string[]): WorkerOptions {
  const o: WorkerOptions = { queue: '', results: null, dataDir: null, lockSeconds: 30 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a !== '--queue' && a !== '--results' && a !== '--data-dir' && a !== '--lock-seconds') throw new UsageError(`worker: unknown option ${a} (known: --queue redis://HOST:PORT, --results DIR|s3://BUCKET/PREFIX, --data-dir DIR, --lock-seconds S)`);
    if (v === undefined || v.startsWith('--')) throw new UsageError(`worker: ${a} needs a value`);
    i++;
    if (a === '--queue') o.queue = v;
    // Paths relative to where the command was typed (pnpm --filter runs it in apps/bench; INIT_CWD keeps the original).
    else if (a === '--results') o.results = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : resolve(process.env.INIT_CWD ?? process.cwd(), v);
    else if (a === '--data-dir') o.dataDir = resolve(process.env.INIT_CWD ?? process.cwd(), v);
    else {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1 || n > 3600) throw new UsageError(`worker: --lock-seconds needs seconds in [1, 3600], got ${JSON.stringify(v)}`);
      o.lockSeconds = n;
    }
  }
  if (o.queue === '') throw new UsageError('worker: --queue redis://HOST:PORT is required');
  return o;
}

const say = (line: string): void => void process.stdout.write(`worker ${hostname()}:${process.pid}: ${line}\n`);

async function run({ args }: SuiteOptions): Promise<number> {
  const o = parseWorkerArgs(args);
  let target;
  try {
    if (o.results !== null) openStore(o.results); // its settings (an s3:// store's credentials) checked before anything runs
    target = parseRedisUrl(o.queue);
    await checkRedis(target);
  } catch (e) {
    if (e instanceof GridError) throw new UsageError(e.message);
    throw e;
  }
  const code = codeVersion(ROOT);
  const stop = new AbortController();
  const processor = async (job: Job<JobData, JobResult>): Promise<JobResult> => {
    const { cell } = job.data;
    const store = openStore(o.results ?? job.data.results);
    if (cell.code !== code) throw new UnrecoverableError(`worker ${hostname()} runs code ${code}, the cell was queued for ${cell.code}: update this machine's checkout`);
    say(`${cell.name} (${cell.hash}) attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`);
    try {
      const r = await runCell(cell, store, {
        ...(o.dataDir === null ? {} : { dataDir: o.dataDir }),
        log: say,
        signal: stop.signal,
        onProgress: (p) => void job.updateProgress(p as object).catch(() => undefined),
      });
      say(`${cell.name}: ${r.already ? 'already complete' : `done in ${r.seconds.toFixed(1)} s${r.resumed ? ' (resumed from its checkpoint)' : ''}`}`);
      return { seconds: r.seconds, published: r.published, resumed: r.resumed };
    } catch (e) {
      if (stop.signal.aborted) throw e;
      const retryable = !(e instanceof CellError) || e.retryable;
      const last = !retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      say(`${cell.name}: ${(e as Error).message}${last ? ' (giving up)' : ''}`);
      if (last) {
        const f: CellFailure = { hash: cell.hash, name: cell.name, attempts: job.attemptsMade + 1, error: (e as Error).message };
        await store.put(failedKey(cell.hash), `${JSON.stringify(f, null, 2)}\n`);
      }
      throw retryable ? e : new UnrecoverableError((e as Error).message);
    }
  };
  const lock = o.lockSeconds * 1000;
  const worker = new Worker<JobData, JobResult>(QUEUE_NAME, processor, { connection: connectionOf(target), concurrency: 1, lockDuration: lock, stalledInterval: lock, maxStalledCount: 1 });
  worker.on('error', (e) => say(`queue error: ${e.message}`));
  await worker.waitUntilReady();
  say(`waiting for cells on ${o.queue} (code ${code}; Ctrl-C stops: the running cell checkpoints and another worker resumes it)`);
  await new Promise<void>((res) => {
    const onSignal = (sig: string): void => {
      if (stop.signal.aborted) return;
      say(`${sig}: stopping; the running cell's job goes back to the queue when its lock lapses`);
      stop.abort();
      // Close without waiting for the job: its lock lapses and the stalled-job check hands it on.
      void worker.close(true).finally(res);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  });
  return 0;
}

export const workerSuite: Suite = {
  name: 'worker',
  description: 'take grid cells from a BullMQ queue (study --grid … --queue) and run them: train, eval, publish',
  options: [
    '--queue redis://HOST:PORT  the queue (required)  --results DIR|s3://BUCKET/PREFIX  the shared results location (default: as the grid named it)',
    '--data-dir DIR  TinyStories text on this machine  --lock-seconds S  job lock (default 30: a dead worker\'s job moves on after about 2 S)',
  ],
  run,
};
