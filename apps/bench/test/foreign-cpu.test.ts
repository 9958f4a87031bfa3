// The others' CPU during a timed step (src/peers/foreign-cpu.ts) against real processes: a child that burns CPU for a
// known time stands in for a peer whose threads spin after its step (OpenBLAS's server threads). The CPU counted for
// our runner must cover the burn, the peer's own runner must not count it, and `--lead` parses as the suites use it.
// The /proc cases run on Linux only (the suites record nothing elsewhere) and are skipped elsewhere.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ForeignCpu, formatForeignCpu, leadSteps, threadsCpuNs } from '../src/peers/foreign-cpu.js';
import { parseStepArgs } from '../src/suites/step.js';
import { parseTrainArgs } from '../src/suites/train.js';

const linux = existsSync('/proc/self/task');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

/**
 * A child that, on a line on stdin, burns `burnMs` of CPU time on its main thread (CPU time, not wall time: on a busy
 * machine the loop runs longer), prints "done MS" with the CPU time it used, and idles until killed.
 */
function burner(burnMs: number): Promise<{ proc: ChildProcess; burn: () => Promise<number> }> {
  const src = `process.stdin.on('data', () => { const u0 = process.cpuUsage(); const t0 = performance.now(); let x = 0; let used = 0; while (used < ${burnMs} && performance.now() - t0 < 10000) { for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + 1); const u = process.cpuUsage(u0); used = (u.user + u.system) / 1000; } console.log('done ' + used + ' ' + (x > 0)); }); setInterval(() => {}, 1e6); console.log('ready');`;
  const proc = spawn(process.execPath, ['-e', src], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  let waiting: ((ms: number) => void) | null = null;
  return new Promise((resolve) => {
    proc.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'ready') resolve({ proc, burn });
        const m = /^done ([0-9.]+)/.exec(line);
        if (m !== null) waiting?.(Number(m[1]));
      }
    });
    const burn = (): Promise<number> =>
      new Promise<number>((r) => {
        waiting = r;
        proc.stdin.write('go\n');
      });
  });
}

describe.skipIf(!linux)("the others' CPU during a timed step (Linux /proc)", () => {
  it('threadsCpuNs: this process grows as getrusage says during a busy loop on this thread; with the thread skipped, it does not', () => {
    const all0 = threadsCpuNs(process.pid)!;
    const others0 = threadsCpuNs(process.pid, process.pid)!;
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    let x = 0;
    let used = 0; // ms of CPU time by getrusage, the process's
    while (used < 120 && performance.now() - t0 < 10_000) {
      for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + 1);
      const u = process.cpuUsage(u0);
      used = (u.user + u.system) / 1000;
    }
    const grew = (threadsCpuNs(process.pid)! - all0) / 1e6;
    const othersGrew = (threadsCpuNs(process.pid, process.pid)! - others0) / 1e6;
    expect(x).toBeGreaterThan(0);
    expect(used).toBeGreaterThanOrEqual(120);
    expect(Math.abs(grew - used)).toBeLessThan(0.2 * used + 10); // /proc's schedstat and getrusage agree
    expect(othersGrew).toBeLessThan(grew / 2); // V8's helpers may run a little meanwhile
    expect(threadsCpuNs(2 ** 30)).toBeNull(); // no such process
  });

  it("a peer's burn during our step counts for our runner, not for the peer's own; an idle peer counts ~0", async () => {
    const { proc: busy, burn } = await burner(250);
    const { proc: idle } = await burner(0);
    const ours = { name: 'wasm:2' };
    const peer = { name: 'torch:2', pid: busy.pid! };
    const other = { name: 'torch:1', pid: idle.pid! };
    const foreign = new ForeignCpu([ours, peer, other]);
    expect(foreign.available).toBe(true);
    const mine: number[] = [];
    let burnt = 0;
    const theirs: number[] = [];
    // "Our step": while it sleeps, the peer burns.
    await foreign.during(ours, mine, async () => {
      const p0 = foreign.othersNs(peer)!;
      burnt = await burn();
      theirs.push((foreign.othersNs(peer)! - p0) / 1e6);
    });
    expect(burnt).toBeGreaterThanOrEqual(250);
    expect(mine).toHaveLength(1);
    expect(mine[0]!).toBeGreaterThan(0.8 * burnt); // the burn, as the child's own getrusage counted it
    expect(mine[0]!).toBeLessThan(burnt + 200);
    expect(theirs[0]!).toBeLessThan(100); // the peer's own burn is not among its others
    // Nothing burns now: a quiet step of ours sees ~0.
    const quiet: number[] = [];
    await foreign.during(ours, quiet, () => sleep(50));
    expect(quiet[0]!).toBeLessThan(20);
  });

  it('formatForeignCpu: median and maximum per runner, and how the timed steps were led', () => {
    const text = formatForeignCpu([{ runner: 'torch:1', othersCpuMs: [2, 0, 9] }, { runner: 'wasm:2', othersCpuMs: [] }], 1);
    expect(text).toContain('each after 1 untimed lead step of its own');
    expect(text).toContain("torch:1  others' CPU median 2.0 ms, max 9.0 ms");
    expect(text).toContain("wasm:2   others' CPU median 0.0 ms, max 0.0 ms");
    expect(formatForeignCpu([], 0)).toContain("right after another runtime's step (--lead 0)");
  });
});

describe('--lead', () => {
  it('absent: 1 where a peer runs, 0 otherwise; given: that many, 0 included; in both suites; negative is a usage error', () => {
    expect(leadSteps(null, 2)).toBe(1);
    expect(leadSteps(null, 0)).toBe(0);
    expect(leadSteps(0, 2)).toBe(0);
    expect(leadSteps(3, 0)).toBe(3);
    expect(parseStepArgs([]).lead).toBeNull();
    expect(parseStepArgs(['--lead', '0']).lead).toBe(0);
    expect(parseStepArgs(['--lead', '2']).lead).toBe(2);
    expect(() => parseStepArgs(['--lead', '-1'])).toThrow(/step: --lead needs an integer ≥ 0, got -1/);
    expect(parseTrainArgs([]).lead).toBeNull();
    expect(parseTrainArgs(['--lead', '0']).lead).toBe(0);
    expect(() => parseTrainArgs(['--lead', 'x'])).toThrow(/train: --lead needs an integer ≥ 0, got x/);
  });
});
