// This package's backend registry, made with the built-in backends: 'cpu' (the default: the float32 reference)
// and 'cpu64' (float64 storage, for finite-difference gradient checks and as a tighter reference; not for training).
import { createBackendRegistry } from '../registry.js';
import { CpuBackend } from './cpu/backend.js';

const registry = createBackendRegistry([
  ['cpu', () => new CpuBackend('cpu', 'float32')],
  ['cpu64', () => new CpuBackend('cpu64', 'float64')],
]);

/** Register a backend under a name; the factory runs lazily on first use. Re-registering replaces it. */
export const registerBackend = registry.registerBackend;
/** The names of the registered backends. */
export const registeredBackends = registry.registeredBackends;
/** The backend registered under `name` (instantiated on first use). Unknown names throw, listing the known. */
export const findBackend = registry.findBackend;
/** Make `name` the backend for new tensors; returns it. */
export const setBackend = registry.setBackend;
/** The current backend ('cpu' unless setBackend was called). */
export const getBackend = registry.getBackend;
