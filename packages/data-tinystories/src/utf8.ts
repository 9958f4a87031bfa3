// Strict UTF-8 validation with the byte offset of the first invalid sequence (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF).

/** Returns -1 when `bytes` is valid UTF-8, else the offset of the first byte of the first invalid sequence. */
export function findInvalidUtf8(bytes: Uint8Array, allowTruncatedTail = false): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 === 0xe0) lo = 0xa0;
      else if (b0 === 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 === 0xf0) lo = 0x90;
      else if (b0 === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return allowTruncatedTail ? -1 : i;
      const b = bytes[i + k]!;
      if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}
