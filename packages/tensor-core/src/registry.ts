// A backend registry: name -> factory, instantiated lazily, and the current backend for new tensors. It knows no
// concrete backend: the built-in ones arrive as factories (backends/builtin.ts makes this package's registry with
// 'cpu' and 'cpu64'); others are added with registerBackend.
import type { Backend } from './backend.js';

export type BackendFactory = () => Backend;

export interface BackendRegistry {
  /** Register a backend under a name; the factory runs lazily on first use. Re-registering replaces it. */
  readonly registerBackend: (name: string, factory: BackendFactory) => void;
  /** The names of the registered backends. */
  readonly registeredBackends: () => string[];
  /** The backend registered under `name` (instantiated on first use). Unknown names throw, listing the known. */
  readonly findBackend: (name: string) => Backend;
  /** Make `name` the backend for new tensors; returns it. */
  readonly setBackend: (name: string) => Backend;
  /** The current backend (the first built-in one unless setBackend was called). */
  readonly getBackend: () => Backend;
}

/** A registry holding `builtins` (name, factory), the first of them current. */
export function createBackendRegistry(builtins: readonly (readonly [string, BackendFactory])[]): BackendRegistry {
  const factories = new Map<string, BackendFactory>(builtins);
  const instances = new Map<string, Backend>();
  let current = builtins[0]?.[0] ?? '';

  const findBackend = (name: string): Backend => {
    let b = instances.get(name);
    if (b !== undefined) return b;
    const f = factories.get(name);
    if (f === undefined) {
      throw new Error(`unknown backend '${name}'; registered backends: ${[...factories.keys()].join(', ')}`);
    }
    b = f();
    instances.set(name, b);
    return b;
  };
  return {
    registerBackend: (name, factory) => {
      factories.set(name, factory);
      instances.delete(name);
    },
    registeredBackends: () => [...factories.keys()],
    findBackend,
    setBackend: (name) => {
      const b = findBackend(name);
      current = name;
      return b;
    },
    getBackend: () => findBackend(current),
  };
}
