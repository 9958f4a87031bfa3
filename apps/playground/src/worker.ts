// The playground's Web Worker: it owns the backend, the loaded checkpoints' models and the decoders, so that the page
// stays responsive and shows tokens as they come (layerskip's onToken, posted one message per token).
import type { BitSkipModel } from '@bitskip/model';
import { liveBuffers, openBackend } from './backends.js';
import type { OpenedBackend } from './backends.js';
import { PlaygroundError, buildModel, generate, packModel, parseCheckpoint } from './engine.js';
import type { Checkpoint } from './engine.js';
import type { FromWorker, Slot, ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(m: FromWorker): void;
  onmessage: ((e: { data: ToWorker }) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker): void => scope.postMessage(m);

const loaded = new Map<Slot, { ckpt: Checkpoint; model: BitSkipModel | null; source: string; packed: string | null }>();
let backend: OpenedBackend | null = null;
let packed = false;
const now = (): number => performance.now();

/** Build (or rebuild after a backend change) the model of a slot on the current backend. */
function modelOf(slot: Slot): { ckpt: Checkpoint; model: BitSkipModel } {
  const s = loaded.get(slot);
  if (s === undefined) throw new PlaygroundError(`Checkpoint ${slot.toUpperCase()} is not loaded yet.`);
  if (s.model === null) {
    const model = buildModel(s.ckpt);
    s.packed = null;
    if (packed) {
      try {
        s.packed = packModel(model, backend?.name ?? 'cpu');
      } catch (e) {
        // Not packable here (a baseline model, a gpu.js backend): it runs unpacked, and the page says why.
        if (!(e instanceof PlaygroundError)) {
          model.dispose();
          throw e;
        }
        s.packed = `not packed: ${e.message}`;
      }
    }
    s.model = model;
  }
  return { ckpt: s.ckpt, model: s.model };
}

function disposeModels(): void {
  for (const s of loaded.values()) {
    s.model?.dispose();
    s.model = null;
  }
}

// Messages are handled one at a time, in order (a generation finishes before the next message is read).
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(() => handle(e.data));
};

async function handle(msg: ToWorker): Promise<void> {
  try {
    if (msg.type === 'packed') {
      packed = msg.on;
      disposeModels();
      const notes: string[] = [];
      for (const [slot, s] of loaded) {
        modelOf(slot);
        notes.push(`${slot.toUpperCase()}: ${s.packed ?? 'fake-quantized weights (as trained)'}`);
      }
      post({ type: 'packed', on: packed, notes });
    } else if (msg.type === 'backend') {
      disposeModels();
      backend = await openBackend(msg.choice, msg.threads);
      const reloaded: Slot[] = [];
      for (const slot of loaded.keys()) {
        modelOf(slot);
        reloaded.push(slot);
      }
      post({ type: 'backend', backend, reloaded });
    } else if (msg.type === 'load') {
      if (backend === null) backend = await openBackend('cpu');
      const ckpt = parseCheckpoint({ config: msg.config, weights: new Uint8Array(msg.weights), tokenizer: msg.tokenizer });
      loaded.get(msg.slot)?.model?.dispose();
      loaded.set(msg.slot, { ckpt, model: null, source: msg.source, packed: null });
      try {
        modelOf(msg.slot);
      } catch (e) {
        loaded.delete(msg.slot);
        throw e;
      }
      post({ type: 'loaded', slot: msg.slot, source: msg.source, summary: ckpt.summary, packed: loaded.get(msg.slot)!.packed });
    } else {
      const { ckpt, model } = modelOf(msg.slot);
      const tok = ckpt.tokenizer;
      const ids: number[] = [];
      let shown = '';
      const t0 = now();
      const summary = generate(model, tok, msg.request, (token, exitLayer) => {
        // A token may end inside a UTF-8 character: its span shows the text completed so far, so a character split
        // over tokens appears whole at the token that completes it (a trailing U+FFFD is held back).
        ids.push(token);
        const text = tok.decode(ids).replace(/\uFFFD+$/u, '');
        const piece = text.startsWith(shown) ? text.slice(shown.length) : tok.decode([token]);
        if (text.startsWith(shown)) shown = text;
        post({ type: 'token', id: msg.id, token, text: piece, exitLayer, count: ids.length, elapsedMs: now() - t0 });
      });
      post({ type: 'done', id: msg.id, summary, liveBuffers: liveBuffers() });
    }
  } catch (e) {
    const message = e instanceof PlaygroundError ? e.message : `Unexpected error: ${(e as Error).message}`;
    post({ type: 'error', ...(msg.type === 'generate' ? { id: msg.id } : {}), ...(msg.type === 'load' ? { slot: msg.slot } : {}), message });
  }
}
