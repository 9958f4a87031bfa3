// The TinyStories text format: stories separated by lines that contain exactly `<|endoftext|>`.
// `splitStories` works on a string; `readStories` streams a file of any size in chunks.
import { open } from 'node:fs/promises';
import { DataError } from './errors.js';
import { findInvalidUtf8 } from './utf8.js';
import { END_OF_TEXT } from './tokenizer.js';

export { END_OF_TEXT };

/** Split a TinyStories text file into stories (trimmed, empty ones dropped). Accepts LF or CRLF line ends. */
export function splitStories(text: string): string[] {
  const stories: string[] = [];
  for (const chunk of text.split(/\r?\n<\|endoftext\|>(?:\r?\n|$)/)) {
    const story = chunk.trim();
    if (story.length > 0 && story !== END_OF_TEXT) stories.push(story);
  }
  return stories;
}

export interface ReadStoriesOptions {
  /** Bytes read per chunk (default 1 MiB). */
  chunkBytes?: number;
  /** A story longer than this is taken as a sign of a file in another format (default 16 MiB). */
  maxStoryBytes?: number;
  /**
   * Read only the first `maxBytes` bytes of the file and, when the file is longer, only the stories whose
   * `<|endoftext|>` line ends inside them (the cut a prefix download makes: after the last complete story).
   */
  maxBytes?: number;
  /** Filled in as stories are read: `usedBytes` is the file offset after the last story read (after its separator line), `fileBytes` the file's size. */
  position?: { usedBytes: number; fileBytes: number };
}

const DELIM = Buffer.from(END_OF_TEXT, 'latin1');
const LF = 0x0a;
const CR = 0x0d;

/**
 * Stream the stories of a TinyStories text file (trimmed, empty ones dropped), reading it in chunks so that
 * a 2 GB file never sits in memory. Throws a DataError naming the file for a missing or empty file, a file
 * without any `<|endoftext|>` line, or invalid UTF-8 (with the byte offset of the first bad byte).
 */
export async function* readStories(path: string, options: ReadStoriesOptions = {}): AsyncGenerator<string, void, undefined> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const maxStoryBytes = options.maxStoryBytes ?? 16 << 20;
  const maxBytes = options.maxBytes;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw new DataError(`${path}: maxBytes must be a positive integer, got ${maxBytes}`);
  const position = options.position ?? { usedBytes: 0, fileBytes: 0 };
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new DataError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DataError(`${path}: not a regular file`);
    if (st.size === 0) throw new DataError(`${path}: file is empty (expected TinyStories text: stories separated by <|endoftext|> lines)`);
    position.fileBytes = st.size;
    position.usedBytes = 0;
    // A prefix: the bytes past maxBytes do not exist for this reader, and the text after the last complete
    // separator line inside the prefix (a story cut by the limit) is dropped.
    const limit = maxBytes !== undefined && maxBytes < st.size ? maxBytes : st.size;
    const cut = limit < st.size;
    let readTotal = 0;    let buf = Buffer.alloc(0);
    let bufOffset = 0; // absolute file offset of buf[0]
    let storyStart = 0; // index into buf where the current story starts
    let searchFrom = 0;
    let eof = false;
    let separators = 0;
    let stories = 0;
    let first = true;
    const chunk = Buffer.allocUnsafe(chunkBytes);

    const emit = (start: number, end: number): string | null => {
      const bytes = buf.subarray(start, end);
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        const bad = findInvalidUtf8(bytes);
        throw new DataError(`${path}: invalid UTF-8 at byte offset ${bufOffset + start + Math.max(bad, 0)} (the file must be UTF-8 text)`);
      }
      const story = text.trim();
      return story.length > 0 ? story : null;
    };

    while (!eof || searchFrom < buf.length) {
      if (!eof) {
        const { bytesRead } = await fh.read(chunk, 0, Math.min(chunkBytes, limit - readTotal), null);
        readTotal += bytesRead;
        if (bytesRead === 0) eof = true;
        else {
          // Keep only the unfinished story: drop what was already emitted.
          const keep = buf.subarray(storyStart);
          bufOffset += storyStart;
          searchFrom -= storyStart;
          storyStart = 0;
          buf = Buffer.concat([keep, chunk.subarray(0, bytesRead)]);
          if (first) {
            first = false;
            if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) storyStart = searchFrom = 3;
          }
        }
      }
      // Scan for delimiter lines in what we have.
      for (;;) {
        const p = buf.indexOf(DELIM, searchFrom);
        if (p < 0) {
          searchFrom = Math.max(storyStart, buf.length - DELIM.length);
          break;
        }
        const after = p + DELIM.length;
        if (!eof && after + 1 >= buf.length) {
          // Need the bytes after the delimiter to know whether it ends a line.
          searchFrom = p;
          break;
        }
        const lineStart = p === 0 || buf[p - 1] === LF;
        const b1 = buf[after];
        // At the end of a cut prefix, a separator line counts only with its line end inside the prefix.
        const lineEnd = (after >= buf.length && !cut) || b1 === LF || (b1 === CR && ((after + 1 >= buf.length && !cut) || buf[after + 1] === LF));
        if (!lineStart || !lineEnd) {
          searchFrom = p + 1;
          continue;
        }
        separators++;
        const story = emit(storyStart, p);
        position.usedBytes = cut ? bufOffset + after + (buf[after] === CR ? 2 : 1) : st.size;
        if (story !== null) {
          stories++;
          yield story;
        }
        storyStart = after;
        while (storyStart < buf.length && (buf[storyStart] === LF || buf[storyStart] === CR)) storyStart++;
        searchFrom = storyStart;
      }
      if (eof) {
        if (cut) break; // the text after the last separator inside the prefix is a story cut by the limit
        if (storyStart < buf.length) {
          const story = emit(storyStart, buf.length);
          if (story !== null) {
            if (separators === 0) throw new DataError(`${path}: no <|endoftext|> separator line found in ${st.size} bytes: not a TinyStories text file`);
            stories++;
            yield story;
          }
        }
        break;
      }
      if (buf.length - storyStart > maxStoryBytes) {
        throw new DataError(`${path}: no <|endoftext|> line within ${maxStoryBytes} bytes after byte offset ${bufOffset + storyStart}: not a TinyStories text file`);
      }
    }
    if (stories === 0 && cut) throw new DataError(`${path}: no complete story (no "<|endoftext|>" line) in the first ${limit} bytes; raise --max-bytes`);
    if (stories === 0) throw new DataError(`${path}: contains no stories (only whitespace and <|endoftext|> lines)`);
    if (!cut) position.usedBytes = st.size;
  } finally {
    await fh.close();
  }
}
