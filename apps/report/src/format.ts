// Locale-independent number formatting for the report: the same number always prints the same way, on any
// machine and under any LANG (no Intl, no toLocaleString). Missing values print as an em dash.

export const MISSING = '—';

/** Group the digits of a non-negative integer string in threes with commas: 1234567 -> 1,234,567. */
function groupThousands(int: string): string {
  let out = '';
  for (let i = 0; i < int.length; i++) {
    if (i > 0 && (int.length - i) % 3 === 0) out += ',';
    out += int[i];
  }
  return out;
}

/**
 * `x` with exactly `decimals` digits after the point, digits grouped by commas, a leading minus for negatives
 * ("-0.00" prints as "0.00"). null, undefined, NaN and ±Infinity print as "—" (or "∞"/"-∞" for the infinities).
 */
export function fixed(x: number | null | undefined, decimals: number): string {
  if (x === null || x === undefined || Number.isNaN(x)) return MISSING;
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '-∞';
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 20) throw new RangeError(`fixed: decimals must be an integer in [0, 20], got ${decimals}`);
  // toFixed is specified by ECMA-262 (exact decimal expansion of the double, no locale); past 1e21 it switches to
  // exponent form, which a report never needs: such numbers print in exponent form with our own rule.
  const abs = Math.abs(x);
  if (abs >= 1e21) return exponent(x, decimals);
  const s = abs.toFixed(decimals);
  const [int, frac] = s.split('.') as [string, string | undefined];
  const body = groupThousands(int) + (frac === undefined ? '' : `.${frac}`);
  const isZero = /^[0.]*$/.test(s);
  return x < 0 && !isZero ? `-${body}` : body;
}

/** `x` in exponent form with `decimals` digits after the point: 1.23e+21. */
export function exponent(x: number, decimals: number): string {
  if (!Number.isFinite(x)) return fixed(x, 0);
  return x.toExponential(decimals);
}

/** A signed percentage of a ratio: 0.325 -> "+32.5%", -0.04 -> "-4.0%", 0 -> "0.0%". */
export function percent(ratio: number | null | undefined, decimals = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return fixed(ratio, decimals);
  const body = fixed(ratio * 100, decimals);
  return (body.startsWith('-') || /^[0.,]*$/.test(body) ? body : `+${body}`) + '%';
}

/** An integer with grouped digits: 1914.4 -> "1,914". */
export function integer(x: number | null | undefined): string {
  return fixed(x, 0);
}

/** A byte count in MiB with one decimal: 3.5 MiB. */
export function mib(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return fixed(bytes, 1);
  return `${fixed(bytes / 1048576, 1)} MiB`;
}

/** A multiplier: 1.8 -> "1.80×". */
export function times(x: number | null | undefined, decimals = 2): string {
  const s = fixed(x, decimals);
  return s === MISSING ? s : `${s}×`;
}
