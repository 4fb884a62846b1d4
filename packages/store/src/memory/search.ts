/** The words of a text as the memory store's search sees them: runs of letters and digits, lower-cased. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * How well `text` matches every word of `query`: the number of times the query's words occur in it,
 * or 0 when a word is missing (then it does not match at all).
 */
export function matchScore(queryWords: readonly string[], text: string | undefined): number {
  if (text === undefined || queryWords.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const word of words(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  let score = 0;
  for (const word of queryWords) {
    const count = counts.get(word);
    if (count === undefined) return 0;
    score += count;
  }
  return score;
}
