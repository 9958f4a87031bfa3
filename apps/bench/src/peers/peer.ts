// Peers of the bench's training step (issue #18): the same BitSkip step (model, init distribution, layer drop, early-exit
// loss, clipping, AdamW; the fake-quant formulas of V1) written in another framework, stepped in the suites' rounds
// beside our backends. `--peer` parsing and opening by name; the contract is spec.ts.
import { UsageError } from '../suite.js';
import type { Peer, PeerSpec, PeerUnavailable } from './spec.js';

export { stepRecipe } from './spec.js';
export type { Peer, PeerSpec, PeerUnavailable, StepRecipe } from './spec.js';

/** `--peer` values: torch (its 1- and 2-thread configurations), torch:N, tfjs. */
export const PEER_NAMES = ['torch', 'tfjs'] as const;

/** Parse `--peer torch,tfjs` (also torch:N): the configurations to open, in order. */
export function parsePeers(suite: string, v: string | undefined): string[] {
  const items = (v ?? '').split(',').filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${suite}: --peer needs a comma-separated list from torch, torch:N, tfjs`);
  const out: string[] = [];
  for (const s of items) {
    if (s === 'torch') out.push('torch:1', 'torch:2');
    else if (/^torch:[1-9]\d?$/.test(s) || s === 'tfjs') out.push(s);
    else throw new UsageError(`${suite}: --peer: unknown peer "${s}"; allowed: torch (1 and 2 threads), torch:N, tfjs`);
  }
  return [...new Set(out)];
}

/** Open a peer configuration by name (see parsePeers). */
export async function openPeer(name: string, spec: PeerSpec): Promise<Peer | PeerUnavailable> {
  if (name.startsWith('torch:')) {
    const { openTorchPeer } = await import('./torch.js');
    return openTorchPeer(Number(name.slice(6)), spec);
  }
  const { openTfjsPeer } = await import('./tfjs.js');
  return openTfjsPeer(spec);
}
