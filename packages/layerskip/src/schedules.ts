// Layer-dropout schedules for LayerSkip training (SPEC §6).
// BitSkip's quadratic schedule: p_l = c * (l / L)^2 with c = 0.5, the last layer never dropped.
// LayerSkip's exponential schedule: p_{l,t} = S(t) * D(l) * p_max, D(l) = e^{l ln2 / (L-1)} - 1.

function checkLayers(numLayers: number): void {
  if (!Number.isInteger(numLayers) || numLayers < 1) {
    throw new Error(`layerskip: numLayers must be a positive integer, got ${numLayers}`);
  }
}

/** BitSkip's quadratic per-layer drop rates p_l = c (l/L)^2 for l = 0..L-1; the last layer is never dropped. */
export function quadraticDropRates(numLayers: number, c = 0.5): number[] {
  checkLayers(numLayers);
  if (!(c >= 0 && c <= 1)) throw new Error(`layerskip: c must be in [0, 1], got ${c}`);
  return Array.from({ length: numLayers }, (_, l) => (l === numLayers - 1 ? 0 : c * (l / numLayers) ** 2));
}

/** LayerSkip's exponential depth curve D(l) * p_max for l = 0..L-1 (D(0) = 0, D(L-1) = 1). */
export function exponentialDropRates(numLayers: number, pMax: number): number[] {
  checkLayers(numLayers);
  if (!(pMax >= 0 && pMax <= 1)) throw new Error(`layerskip: pMax must be in [0, 1], got ${pMax}`);
  if (numLayers === 1) return [0];
  return Array.from({ length: numLayers }, (_, l) => (Math.exp((l * Math.LN2) / (numLayers - 1)) - 1) * pMax);
}
