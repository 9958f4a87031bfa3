// Messages between the page (main.ts) and its Web Worker (worker.ts), which owns the backend, the models and decoding.
import type { BackendChoice, OpenedBackend, ThreadChoice } from './backends.js';
import type { CheckpointSummary, GenerateRequest, GenerateSummary } from './engine.js';

/** Checkpoint slots: A, and B for the side-by-side comparison of two checkpoints. */
export type Slot = 'a' | 'b';

export type ToWorker =
  /** Open a backend; `threads` is the wasm backend's (other backends run one). */
  | { type: 'backend'; choice: BackendChoice; threads: ThreadChoice }
  /** Packed ternary weights (model's freezeModel) for the ternary variants, on cpu and wasm; rebuilds the models. */
  | { type: 'packed'; on: boolean }
  | { type: 'load'; slot: Slot; source: string; config: string; weights: ArrayBuffer; tokenizer: string }
  | { type: 'generate'; id: number; slot: Slot; request: GenerateRequest };

export type FromWorker =
  | { type: 'backend'; backend: OpenedBackend; reloaded: Slot[] }
  | { type: 'loaded'; slot: Slot; source: string; summary: CheckpointSummary; packed: string | null }
  | { type: 'packed'; on: boolean; notes: string[] }
  | { type: 'token'; id: number; token: number; text: string; exitLayer: number; count: number; elapsedMs: number }
  | { type: 'done'; id: number; summary: GenerateSummary; liveBuffers: number }
  | { type: 'error'; id?: number; slot?: Slot; message: string };
