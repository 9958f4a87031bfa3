// Progress display: one self-rewriting line on a TTY (step, loss, lr, tokens/s, ETA, a bar), plain lines at intervals
// otherwise (logs, CI), so long runs always show where they are.

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60);
  const sec = Math.round(s - m * 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class ProgressLine {
  private lastPlain = 0;
  private shown = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean = out.isTTY,
    private readonly plainEverySeconds = 15,
  ) {}

  update(step: number, total: number, text: string): void {
    const now = performance.now() / 1000;
    if (this.tty) {
      const width = 20;
      const filled = Math.round((width * step) / Math.max(1, total));
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      this.out.write(`\r\x1b[K${bar} ${text}`);
      this.shown = true;
    } else if (step === total || now - this.lastPlain >= this.plainEverySeconds) {
      this.lastPlain = now;
      this.out.write(`${text}\n`);
    }
  }

  /** Print a line of its own (the progress line is cleared first and redrawn by the next update). */
  log(line: string): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[K');
    this.out.write(`${line}\n`);
    this.shown = false;
  }

  end(): void {
    if (this.tty && this.shown) this.out.write('\n');
    this.shown = false;
  }
}
