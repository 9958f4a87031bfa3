// User-facing errors: one line naming the file or flag and what is wrong (the CLI prints the message, exit code 2).
import { describeFsError } from '@bitskip/atomic-fs';
import { DataError } from './data-error.js';

export { DataError };

/**
 * A DataError for `e` when it is one, or a file-system error (no permission, read-only, disk full, a file in the
 * way, …: one line naming the path, `path` when the error names none); null for anything else (a bug).
 */
export function asDataError(e: unknown, path?: string): DataError | null {
  if (e instanceof DataError) return e;
  const fs = describeFsError(e, path);
  return fs === null ? null : new DataError(fs.message, { cause: e });
}
