// Node-only helpers (file system): atomic save and load of safetensors files. Kept out of the main entry so
// that `@bitskip/tensor-core` bundles for the browser; import them from `@bitskip/tensor-core/node`.
/// <reference types="node" />
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@bitskip/atomic-fs';
import type { Backend } from './backend.js';
import { setBackend } from './backends/builtin.js';
import { wasmSimdSupported } from './backends/wasm/runtime.js';
import { initWasmBackend } from './wasm.js';
import {
  parseSafetensors,
  serializeSafetensors,
  type ParseSafetensorsOptions,
  type SafetensorsFile,
  type SafetensorsTensorInput,
} from './io/safetensors.js';

/**
 * Write a safetensors file atomically (`@bitskip/atomic-fs`): the bytes go to a temporary file beside `path`, which
 * is then renamed over `path` (no fsync), so a reader sees either the old file or the complete new one, never a
 * partial write. A file-system error is a one-line `PathError` naming `path`.
 */
export async function saveSafetensors(
  path: string,
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata), { fsync: false });
}

/** Read and parse a safetensors file. The tensors view the file's bytes (see {@link ParseSafetensorsOptions}). */
export async function loadSafetensors(path: string, options?: ParseSafetensorsOptions): Promise<SafetensorsFile> {
  const buf = await readFile(path);
  // A fresh Uint8Array over the Buffer's own memory (readFile's Buffer is not pooled, but be explicit).
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  try {
    return parseSafetensors(bytes, options);
  } catch (err) {
    throw new Error(`${(err as Error).message} (in ${path})`, { cause: err });
  }
}

export interface DefaultBackendOptions {
  /** Threads for the wasm backend (default: all cores). */
  threads?: number;
}

/**
 * Select the default backend for Node: the multi-threaded `wasm` backend (created and registered on the first
 * call), or `cpu` where this host has no WASM SIMD. The main entry's default stays `cpu` (browser-safe); Node
 * programs call this once at start-up. Returns the selected backend.
 */
export async function useDefaultBackend(options: DefaultBackendOptions = {}): Promise<Backend> {
  for (const key of Object.keys(options)) {
    if (key !== 'threads') throw new Error(`useDefaultBackend: unknown option "${key}" (known: threads)`);
  }
  if (!wasmSimdSupported()) return setBackend('cpu');
  const threads = options.threads;
  if (defaultInit === undefined || defaultThreads !== threads) {
    defaultThreads = threads;
    defaultInit = initWasmBackend(threads === undefined ? {} : { threads });
  }
  await defaultInit;
  return setBackend('wasm');
}

let defaultInit: Promise<unknown> | undefined;
let defaultThreads: number | undefined;
