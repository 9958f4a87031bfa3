import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitStories } from '../src/index.js';

const dataDir = process.env.BITSKIP_DATA_DIR ?? join(import.meta.dirname, '../../../../shared/data/tinystories');

describe('splitStories', () => {
  it('splits on <|endoftext|> lines, LF or CRLF', () => {
    const text = 'Once upon a time.\nThe end.\n<|endoftext|>\nSecond story.\r\n<|endoftext|>\r\n';
    expect(splitStories(text)).toEqual(['Once upon a time.\nThe end.', 'Second story.']);
  });

  // CI sets BITSKIP_DATA_DIR: there a missing sample must fail, not skip.
  it.runIf(process.env.CI !== undefined || existsSync(join(dataDir, 'train.txt')))('finds the story counts the sample README states', () => {
    // ../shared/data/tinystories/README.md: 3,642 train and 601 validation stories.
    expect(splitStories(readFileSync(join(dataDir, 'train.txt'), 'utf8'))).toHaveLength(3642);
    expect(splitStories(readFileSync(join(dataDir, 'valid.txt'), 'utf8'))).toHaveLength(601);
  });
});
