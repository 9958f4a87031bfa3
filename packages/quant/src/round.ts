// Rounding used by every quantizer in this package: round half to even (banker's rounding), as PyTorch's
// torch.round, written out because JavaScript's Math.round rounds halves toward +infinity.

/** Round to the nearest integer, ties to the even one: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0, -1.5 -> -2. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends ties up: undo it where that landed on an odd integer.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
