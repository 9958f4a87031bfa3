// The grid's BullMQ side: the Redis URL (checked up front: without Redis, one line naming the URL), one job per
// missing cell (job id = the cell hash, so a cell is never queued twice; retries with exponential backoff), and the
// live view of a grid (every cell's state from the store and the queue, job progress as the workers report it).
import { QueueEvents } from 'bullmq';
import type { Job , Queue} from 'bullmq';
import { Redis } from 'ioredis';
import { cellKey } from './cell.js';
import type { CellProgress } from './cell.js';
import { GridError } from './definition.js';
import type { Cell } from './definition.js';
import type { ResultStore } from './store.js';

export const QUEUE_NAME = 'bitskip-grid-cells';

export interface RedisTarget {
  url: string;
  host: string;
  port: number;
  db: number;
  password?: string;
}

/** redis://[:password@]HOST[:PORT][/DB] (port 6379 and db 0 by default). */
export function parseRedisUrl(url: string, flag = '--queue'): RedisTarget {
  const m = /^redis:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?(?:\/(\d{1,2}))?\/?$/.exec(url);
  if (m === null) throw new GridError(`${flag} ${url}: expected redis://HOST:PORT (optionally redis://:PASSWORD@HOST:PORT/DB)`);
  const port = m[3] === undefined ? 6379 : Number(m[3]);
  if (port < 1 || port > 65535) throw new GridError(`${flag} ${url}: port must be in [1, 65535]`);
  return { url, host: m[2]!.replace(/^\[|\]$/g, ''), port, db: m[4] === undefined ? 0 : Number(m[4]), ...(m[1] === undefined || m[1] === '' ? {} : { password: m[1] }) };
}

/** BullMQ's connection options for a target (workers need maxRetriesPerRequest null). */
export const connectionOf = (t: RedisTarget): { host: string; port: number; db: number; password?: string; maxRetriesPerRequest: null } => ({
  host: t.host,
  port: t.port,
  db: t.db,
  maxRetriesPerRequest: null,
  ...(t.password === undefined ? {} : { password: t.password }),
});

/** Connect once, without retries: a GridError naming the URL when Redis is not there. */
export async function checkRedis(t: RedisTarget, flag = '--queue'): Promise<void> {
  const r = new Redis({ host: t.host, port: t.port, db: t.db, lazyConnect: true, connectTimeout: 3000, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, ...(t.password === undefined ? {} : { password: t.password }) });
  let cause: NodeJS.ErrnoException | null = null;
  r.on('error', (e: NodeJS.ErrnoException) => (cause ??= e));
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const err = cause ?? (e as NodeJS.ErrnoException);
    throw new GridError(`${flag} ${t.url}: cannot reach Redis (${err.code ?? err.message}); start one (see apps/bench/README.md) or run the grid without --queue`);
  } finally {
    r.disconnect();
  }
}

export interface JobData {
  cell: Cell;
  /** The shared results location as the enqueuing machine names it (a worker's --results overrides it). */
  results: string;
}
export interface JobResult {
  seconds: number;
  published: boolean;
  resumed: boolean;
}

export type CellState = 'complete' | 'failed' | 'waiting' | 'active' | 'delayed';

type Retry = { attempts: number; backoffSeconds: number };

const addCell = (queue: Queue<JobData, JobResult>, cell: Cell, store: ResultStore, retry: Retry): Promise<Job<JobData, JobResult>> =>
  queue.add(cell.name, { cell, results: store.location }, { jobId: cell.hash, attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.backoffSeconds * 1000 }, removeOnComplete: { age: 7 * 86400 }, removeOnFail: { age: 30 * 86400 } });

/** Queue one job per cell that has no complete result (a failed or finished job of an earlier run is replaced). */
export async function enqueueMissing(queue: Queue<JobData, JobResult>, cells: Cell[], store: ResultStore, retry: Retry): Promise<{ queued: number; kept: number; done: number }> {
  let queued = 0;
  let kept = 0;
  let done = 0;
  for (const cell of cells) {
    if (await store.has(cellKey(cell.hash))) {
      done++;
      continue;
    }
    const old = await queue.getJob(cell.hash);
    if (old !== undefined) {
      const s = await old.getState();
      if (s === 'waiting' || s === 'active' || s === 'delayed' || s === 'prioritized') {
        kept++;
        continue;
      }
      await old.remove();
    }
    await addCell(queue, cell, store, retry);
    queued++;
  }
  return { queued, kept, done };
}

export interface QueuedGridOutcome {
  failed: Map<string, { attempts: number; error: string }>;
  jobs: Job<JobData, JobResult>[];
}

/** Follow the grid until every cell is complete or failed, printing progress; resolves with the failed cells. */
export async function followGrid(t: RedisTarget, queue: Queue<JobData, JobResult>, cells: Cell[], store: ResultStore, retry: Retry, say: (line: string) => void): Promise<QueuedGridOutcome> {
  const events = new QueueEvents(QUEUE_NAME, { connection: connectionOf(t) });
  const byHash = new Map(cells.map((c) => [c.hash, c]));
  const lastShown = new Map<string, number>();
  events.on('progress', ({ jobId, data }) => {
    const c = byHash.get(jobId);
    if (c === undefined) return;
    const p = data as CellProgress;
    const now = performance.now();
    if (p.stage === 'train' && now - (lastShown.get(jobId) ?? -Infinity) < 2000) return;
    lastShown.set(jobId, now);
    say(`  ${c.name}: ${p.stage}${p.step === undefined ? '' : ` step ${p.step}${p.steps === undefined ? '' : `/${p.steps}`}`}${p.loss === undefined ? '' : ` loss ${p.loss.toFixed(4)}`}`);
  });
  // The loop below looks every 500 ms, and at once when a job of this grid completes or fails: the grid's end is
  // seen when its last cell is published, not up to half a second later.
  let wake: (() => void) | null = null;
  let nudged = false; // an event while the loop was busy: do not wait next time
  const nudge = (jobId: string): void => {
    if (!byHash.has(jobId)) return;
    if (wake === null) nudged = true;
    else wake();
  };
  events.on('completed', ({ jobId }) => nudge(jobId));
  events.on('failed', ({ jobId, failedReason }) => {
    const c = byHash.get(jobId);
    if (c !== undefined) say(`  ${c.name}: attempt failed: ${failedReason}`);
    nudge(jobId);
  });
  await events.waitUntilReady();
  const failed = new Map<string, { attempts: number; error: string }>();
  const jobs: Job<JobData, JobResult>[] = [];
  let shown = '';
  const completedAt = new Map<string, number>();
  try {
    for (;;) {
      const counts: Record<CellState, number> = { complete: 0, failed: 0, waiting: 0, active: 0, delayed: 0 };
      for (const c of cells) {
        if (await store.has(cellKey(c.hash))) {
          counts.complete++;
          continue;
        }
        const job = await queue.getJob(c.hash);
        const s = job === undefined ? 'unknown' : await job.getState();
        if (s === 'failed') {
          counts.failed++;
          failed.set(c.hash, { attempts: job!.attemptsMade, error: job!.failedReason });
        } else if (s === 'waiting' || s === 'prioritized') counts.waiting++;
        else if (s === 'active') counts.active++;
        else if (s === 'delayed') counts.delayed++;
        else if (s === 'completed') {
          // Published a moment ago, the store shows it next round — unless the worker wrote somewhere else.
          const since = completedAt.get(c.hash) ?? performance.now();
          completedAt.set(c.hash, since);
          if (performance.now() - since > 10_000) {
            counts.failed++;
            failed.set(c.hash, { attempts: job!.attemptsMade, error: `its job completed on ${job!.processedBy ?? 'a worker'} but no result is in ${store.location}: do the workers write to this results location (--results)?` });
          } else counts.active++;
        } else {
          // Not in the queue (removed by hand, or Redis lost its data): queued again.
          await addCell(queue, c, store, retry);
          counts.waiting++;
        }
      }
      const line = `grid: ${counts.complete}/${cells.length} complete, ${counts.active} running, ${counts.waiting} waiting, ${counts.delayed} waiting to retry, ${counts.failed} failed`;
      if (line !== shown) say(line);
      shown = line;
      if (counts.complete + counts.failed === cells.length) break;
      if (nudged) {
        nudged = false;
        continue;
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(() => {
          wake = null;
          r();
        }, 500);
        wake = (): void => {
          clearTimeout(timer);
          wake = null;
          r();
        };
      });
    }
    for (const c of cells) {
      const j = await queue.getJob(c.hash);
      if (j !== undefined) jobs.push(j);
    }
  } finally {
    await events.close();
  }
  return { failed, jobs };
}

/**
 * The queue's own cost per cell, from the jobs' timestamps: the time a job waited although its worker was free (from
 * the later of the job's creation and that worker's previous job's end to its start) plus the time the job was
 * active beyond the cell's own work (the worker's measured seconds). Means over the completed jobs, in seconds.
 */
export function queueOverhead(jobs: Job<JobData, JobResult>[]): { pickup: number; inJob: number; perCell: number; n: number } | null {
  const done = jobs.filter((j) => j.finishedOn !== undefined && j.processedOn !== undefined && j.returnvalue !== null && j.returnvalue !== undefined && typeof j.returnvalue.seconds === 'number');
  if (done.length === 0) return null;
  const byWorker = new Map<string, Job<JobData, JobResult>[]>();
  for (const j of done) byWorker.set(j.processedBy ?? '?', [...(byWorker.get(j.processedBy ?? '?') ?? []), j]);
  let pickup = 0;
  let inJob = 0;
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.processedOn! - b.processedOn!);
    list.forEach((j, i) => {
      const free = Math.max(j.timestamp, i === 0 ? 0 : list[i - 1]!.finishedOn!);
      pickup += Math.max(0, j.processedOn! - free) / 1000;
      inJob += Math.max(0, (j.finishedOn! - j.processedOn!) / 1000 - j.returnvalue.seconds);
    });
  }
  return { pickup: pickup / done.length, inJob: inJob / done.length, perCell: (pickup + inJob) / done.length, n: done.length };
}
