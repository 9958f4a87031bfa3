// The keys of a result store: slash-separated names of letters, digits, '.', '_' and '-' (no empty, '.' or '..'
// segment), the same for the directory and the bucket implementations.
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export function checkKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`result store: bad key ${JSON.stringify(key)}`);
}
