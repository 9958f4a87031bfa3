// The peer rows of a bench result: each peer configuration's step time and tokens/s, the best of a framework's
// configurations ("torch best": the faster of torch:1 and torch:2 by median tokens/s), and the ratio ours/peer in
// tokens/s for each of our rows. Pure: the step and train suites pass in what they measured.
import { stats, table } from '../result.js';
import type { Stats } from '../result.js';

export interface PeerResultRow {
  peer: string;
  info: string;
  ms: Stats;
  tokensPerSecond: Stats;
  losses: number[];
  /** Ours / this peer in median tokens/s, per our row (backend or cell name). */
  oursOverPeer: Record<string, number>;
}

export interface PeerBest {
  /** The framework: torch, tfjs. */
  framework: string;
  /** Its fastest configuration. */
  peer: string;
  tokensPerSecond: number;
  oursOverPeer: Record<string, number>;
}

export interface PeerSummary {
  /** Peers that did not run here, one line each (why). */
  notes: string[];
  rows: PeerResultRow[];
  best: PeerBest[];
}

/**
 * Peer rows from per-step ms and losses. Tokens/s Stats: median from the median step, min from the slowest, max from
 * the fastest. `ours`: our rows' names and median tokens/s, the numerators of the ratios.
 */
export function peerSummary(
  ours: ReadonlyArray<{ name: string; tokensPerSecond: number }>,
  peers: ReadonlyArray<{ peer: string; info: string; ms: number[]; losses: number[] }>,
  tokens: number,
  notes: string[],
): PeerSummary {
  const ratios = (tps: number): Record<string, number> => Object.fromEntries(ours.map((o) => [o.name, o.tokensPerSecond / tps]));
  const rows: PeerResultRow[] = peers.map((p) => {
    const ms = stats(p.ms);
    const tps: Stats = { n: ms.n, median: (tokens * 1000) / ms.median, min: (tokens * 1000) / ms.max, max: (tokens * 1000) / ms.min };
    return { peer: p.peer, info: p.info, ms, tokensPerSecond: tps, losses: p.losses, oursOverPeer: ratios(tps.median) };
  });
  const frameworks = [...new Set(rows.map((r) => r.peer.split(':')[0]!))];
  const best = frameworks.map((framework) => {
    const top = rows.filter((r) => r.peer.split(':')[0] === framework).reduce((a, b) => (b.tokensPerSecond.median > a.tokensPerSecond.median ? b : a));
    return { framework, peer: top.peer, tokensPerSecond: top.tokensPerSecond.median, oursOverPeer: ratios(top.tokensPerSecond.median) };
  });
  return { notes, rows, best };
}

/** The peer table: each configuration, then "<framework> best"; a column of ours/peer per our row. */
export function printPeerTable(s: PeerSummary, label = 'ours'): string {
  const names = Object.keys(s.rows[0]?.oursOverPeer ?? {});
  const ratio = (r: Record<string, number>): string[] => names.map((n) => `${r[n]!.toFixed(2)}×`);
  const lines = [
    ...s.rows.map((r) => [r.peer, r.ms.median, r.ms.min, r.ms.max, Math.round(r.tokensPerSecond.median), ...ratio(r.oursOverPeer), r.losses[r.losses.length - 1]?.toFixed(4) ?? '-', r.info]),
    ...s.best
      .filter((b) => s.rows.filter((r) => r.peer.split(':')[0] === b.framework).length > 1)
      .map((b) => [`${b.framework} best (${b.peer})`, '', '', '', Math.round(b.tokensPerSecond), ...ratio(b.oursOverPeer), '', '']),
  ];
  const head = `peers (tokens/s ratio = ${label} / peer, medians; a peer times its own step, without the pipe)`;
  const body = s.rows.length === 0 ? '(no peer ran)' : table(['peer', 'ms/step median', 'min', 'max', 'tokens/s', ...names.map((n) => `${n} / peer`), 'last loss', 'info'], lines);
  return [head, body, ...s.notes.map((n) => `note: ${n}`)].join('\n');
}
