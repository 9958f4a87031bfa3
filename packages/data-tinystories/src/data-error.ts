// User-facing errors: one line naming the file or flag and what is wrong (the CLI prints the message, exit code 2).
// Its own file, free of Node built-ins, so that the `./browser` entry can throw it too.
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
