// Download progress on stderr: a redrawn bar with bytes, rate and ETA on a TTY, else an occasional plain line.

export interface Progress {
  update(done: number, total: number | undefined): void;
  end(): void;
}

export const silentProgress: Progress = { update() {}, end() {} };

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

function formatTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** Progress to a stream (default stderr); redraws in place only when it is a TTY. */
export function streamProgress(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const tty = stream.isTTY === true;
  const t0 = now();
  let lastDraw = -Infinity;
  let lastPct = -1;
  let lastLine = t0;
  let started = -1;
  const line = (done: number, total: number | undefined): string => {
    const secs = (now() - t0) / 1000;
    const rate = secs > 0 ? (done - Math.max(started, 0)) / secs : 0;
    if (total === undefined || total <= 0) return `${label}: ${formatBytes(done)} at ${formatBytes(rate)}/s`;
    const frac = Math.min(1, done / total);
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    return `${label} [${bar}] ${formatBytes(done)}/${formatBytes(total)} ${(frac * 100).toFixed(0)}% ${formatBytes(rate)}/s ETA ${formatTime(eta)}`;
  };
  return {
    update(done, total) {
      if (started < 0) started = done; // bytes already there when resuming do not count towards the rate
      const t = now();
      if (tty) {
        if (t - lastDraw < 100 && done !== total) return;
        lastDraw = t;
        stream.write(`\r${line(done, total)}\x1b[K`);
      } else {
        const pct = total ? Math.floor((done / total) * 10) : -1;
        if (pct > lastPct || t - lastLine > 30_000) {
          lastPct = Math.max(pct, lastPct);
          lastLine = t;
          stream.write(line(done, total) + '\n');
        }
      }
    },
    end() {
      if (tty) stream.write('\n');
    },
  };
}
