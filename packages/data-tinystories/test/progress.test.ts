import { describe, expect, it } from 'vitest';
import { formatBytes, streamProgress } from '../src/index.js';

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream };
}

describe('download progress', () => {
  it('redraws one line with bytes, percent, rate and ETA on a TTY', () => {
    const { out, stream } = fakeStream(true);
    let t = 0;
    const p = streamProgress('download train', stream, () => t);
    p.update(0, 4 << 20);
    t = 1000;
    p.update(1 << 20, 4 << 20);
    p.end();
    expect(out[1]).toBe('\rdownload train [######..................] 1.0 MiB/4.0 MiB 25% 1.0 MiB/s ETA 0:03\x1b[K');
    expect(out.at(-1)).toBe('\n');
  });

  it('prints an occasional plain line when stderr is not a TTY', () => {
    const { out, stream } = fakeStream(false);
    let t = 0;
    const p = streamProgress('dl', stream, () => t);
    for (let i = 0; i <= 1000; i++) {
      t = i * 10;
      p.update(i * 1000, 1_000_000);
    }
    p.end();
    expect(out.length).toBe(11); // 0%, 10%, ..., 100%
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});
