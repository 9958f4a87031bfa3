// Node-only helpers (file system): atomic save and load of safetensors files. Kept out of the main entry so
// that `@bitskip/tensor-core` bundles for the browser; import them from `@bitskip/tensor-core/node`.
/// <reference types="node" />
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import {
  parseSafetensors,
  serializeSafetensors,
  type ParseSafetensorsOptions,
  type SafetensorsFile,
  type SafetensorsTensorInput,
} from './io/safetensors.js';

let tmpCounter = 0;

/**
 * Write a safetensors file atomically: the bytes go to a temporary file beside `path`, which is then renamed over
 * `path` (no fsync), so a reader sees either the old file or the complete new one, never a partial write.
 */
export async function saveSafetensors(
  path: string,
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata);
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
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
