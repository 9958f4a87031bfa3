// The backend registry: name -> factory, instantiated lazily. 'cpu' (default) and 'cpu64' are built in.
import type { Backend } from './backend.js';
import { CpuBackend } from './backends/cpu/backend.js';

type BackendFactory = () => Backend;

const factories = new Map<string, BackendFactory>([
  ['cpu', () => new CpuBackend('cpu', 'float32')],
  // Float64 storage; for finite-difference gradient checks and as a tighter reference. Not for training.
  ['cpu64', () => new CpuBackend('cpu64', 'float64')],
]);
const instances = new Map<string, Backend>();
let current = 'cpu';

/** Register a backend under a name; the factory runs lazily on first use. Re-registering replaces it. */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
  instances.delete(name);
}

/** The names of the registered backends. */
export function registeredBackends(): string[] {
  return [...factories.keys()];
}

/** The backend registered under `name` (instantiated on first use). Unknown names throw, listing the known. */
export function findBackend(name: string): Backend {
  let b = instances.get(name);
  if (b !== undefined) return b;
  const f = factories.get(name);
  if (f === undefined) {
    throw new Error(`unknown backend '${name}'; registered backends: ${[...factories.keys()].join(', ')}`);
  }
  b = f();
  instances.set(name, b);
  return b;
}

/** Make `name` the backend for new tensors; returns it. */
export function setBackend(name: string): Backend {
  const b = findBackend(name);
  current = name;
  return b;
}

/** The current backend ('cpu' unless setBackend was called). */
export function getBackend(): Backend {
  return findBackend(current);
}
