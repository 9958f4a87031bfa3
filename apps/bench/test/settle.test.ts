// The settler (src/peers/settle.ts) against real processes: a child that burns CPU for a known time and then sleeps
// stands in for a peer whose threads spin after its step (OpenBLAS's server threads). Its CPU time, read from /proc,
// must grow by about the burn; `settle` must return only once the burn is over; and a runner's own process is not
// among its others. Linux only (the suites record nothing elsewhere); skipped with a reason where /proc is absent.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CoreSettler, formatSettle, recordSettle, threadsCpuNs } from '../src/peers/settle.js';
import type { SettleSummary } from '../src/peers/settle.js';
import { parseStepArgs } from '../src/suites/step.js';
import { parseTrainArgs } from '../src/suites/train.js';

const linux = existsSync('/proc/self/task');
let child: ChildProcess | null = null;
afterEach(() => {
  child?.kill();
  child = null;
});

/** A child that waits for a line on stdin, burns `burnMs` of CPU on one thread, prints "done" and idles until killed. */
function burner(burnMs: number): Promise<{ proc: ChildProcess; burnt: Promise<number> }> {
  const src = `process.stdin.once('data', () => { const t0 = performance.now(); let x = 0; while (performance.now() - t0 < ${burnMs}) x += Math.sqrt(x + 1); console.log('done ' + (performance.now() - t0) + ' ' + (x > 0)); setInterval(() => {}, 1e6); }); console.log('ready');`;
  const proc = spawn(process.execPath, ['-e', src], { stdio: ['pipe', 'pipe', 'inherit'] });
  child = proc;
  return new Promise((resolve) => {
    let buf = '';
    let burntResolve: (ms: number) => void = () => {};
    const burnt = new Promise<number>((r) => (burntResolve = r));
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('ready') && !buf.includes('started')) {
        buf += 'started';
        resolve({ proc, burnt });
      }
      const m = /done ([0-9.]+)/.exec(buf);
      if (m !== null) burntResolve(Number(m[1]));
    });
  });
}

describe.skipIf(!linux)('settling between timed steps (Linux /proc)', () => {
  it('threadsCpuNs: this process grows by about a busy loop run on this thread; the thread skipped, it does not', () => {
    const all0 = threadsCpuNs(process.pid)!;
    const others0 = threadsCpuNs(process.pid, process.pid)!;
    const t0 = performance.now();
    let x = 0;
    while (performance.now() - t0 < 120) x += Math.sqrt(x + 1);
    const grew = (threadsCpuNs(process.pid)! - all0) / 1e6;
    const othersGrew = (threadsCpuNs(process.pid, process.pid)! - others0) / 1e6;
    expect(x).toBeGreaterThan(0);
    expect(grew).toBeGreaterThan(80); // ≥ 2/3 of the loop on a shared machine
    expect(othersGrew).toBeLessThan(grew / 2); // V8's helpers may run a little meanwhile
    expect(threadsCpuNs(2 ** 30)).toBeNull(); // no such process
  });

  it("settle waits while a peer's process burns CPU and returns once it is idle; the peer's own steps do not wait for itself", async () => {
    const { proc, burnt } = await burner(300);
    const ours = { name: 'wasm:2' };
    const peer = { name: 'torch:2', pid: proc.pid! };
    const settler = new CoreSettler([ours, peer], { windowMs: 10, maxWaitMs: 3000 });
    expect(settler.available).toBe(true);
    const cpu0 = settler.othersCpuNs(ours)!;
    const t0 = performance.now();
    proc.stdin!.write('go\n');
    // The peer's own burn is not among its others: its step would start at once.
    const own = (await settler.settle(peer))!;
    expect(own.idle).toBe(true);
    expect(own.waitedMs).toBeLessThan(150);
    const rec = (await settler.settle(ours))!;
    const waited = performance.now() - t0;
    const burntMs = await burnt;
    expect(rec.idle).toBe(true);
    // It returned after the burn (the child reports ≥ 300 ms of it), not before.
    expect(burntMs).toBeGreaterThanOrEqual(300);
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(rec.waitedMs).toBeGreaterThanOrEqual(290);
    // The others' CPU covers the burn (the child's main thread ran it).
    const used = (settler.othersCpuNs(ours)! - cpu0) / 1e6;
    expect(used).toBeGreaterThan(200);
    expect(used).toBeLessThan(waited + 200);
    // Idle now: the next settle returns after one or two windows.
    const again = (await settler.settle(ours))!;
    expect(again.idle).toBe(true);
    expect(again.waitedMs).toBeLessThan(200);
  });

  it('settle gives up after maxWaitMs while the others stay busy, and says so', async () => {
    const { proc } = await burner(5000);
    const ours = { name: 'wasm:2' };
    const settler = new CoreSettler([ours, { name: 'busy', pid: proc.pid! }], { windowMs: 10, maxWaitMs: 150 });
    proc.stdin!.write('go\n');
    const rec = (await settler.settle(ours))!;
    expect(rec.idle).toBe(false);
    expect(rec.waitedMs).toBeGreaterThanOrEqual(150);
    expect(rec.waitedMs).toBeLessThan(1500);
  });

  it('recordSettle and formatSettle: per-runner medians and maxima, and the steps that started busy', () => {
    const s: SettleSummary = { runner: 'torch:1', othersCpuMs: [], waitedMs: [], notIdle: 0 };
    recordSettle(s, { waitedMs: 12, idle: true }, 0, 2e6);
    recordSettle(s, { waitedMs: 104, idle: false }, 5e6, 5e6);
    recordSettle(s, { waitedMs: 30, idle: true }, 1e6, 10e6);
    expect(s.othersCpuMs).toEqual([2, 0, 9]);
    expect(s.waitedMs).toEqual([12, 104, 30]);
    expect(s.notIdle).toBe(1);
    const text = formatSettle([s], true);
    expect(text).toContain('torch:1  others\' CPU median 2.0 ms, max 9.0 ms; waited median 30 ms, max 104 ms; 1 step(s) started before they were idle');
    expect(formatSettle([s], false)).toContain('settling off');
  });
});

describe('--settle', () => {
  it('defaults to on in both suites; off turns it off; anything else is a usage error naming on and off', () => {
    expect(parseStepArgs([]).settle).toBe(true);
    expect(parseStepArgs(['--settle', 'off']).settle).toBe(false);
    expect(() => parseStepArgs(['--settle', 'maybe'])).toThrow(/step: --settle: must be one of on, off; got "maybe"/);
    expect(parseTrainArgs([]).settle).toBe(true);
    expect(parseTrainArgs(['--settle', 'off']).settle).toBe(false);
    expect(() => parseTrainArgs(['--settle'])).toThrow(/train: --settle must be on or off, got nothing/);
  });
});
