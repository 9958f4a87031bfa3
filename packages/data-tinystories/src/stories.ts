// The TinyStories text format: stories separated by lines that contain exactly `<|endoftext|>`.

export const END_OF_TEXT = '<|endoftext|>';

/** Split a TinyStories text file into stories (trimmed, empty ones dropped). Accepts LF or CRLF line ends. */
export function splitStories(text: string): string[] {
  const stories: string[] = [];
  for (const chunk of text.split(/\r?\n<\|endoftext\|>(?:\r?\n|$)/)) {
    const story = chunk.trim();
    if (story.length > 0 && story !== END_OF_TEXT) stories.push(story);
  }
  return stories;
}
