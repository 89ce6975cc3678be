// A post's words, lower-cased, with their positions: built once per post and shared by every policy's
// query, so word and phrase lookups are map reads rather than scans of the text.

/** Letters and digits, with inner apostrophes kept (don't, l'eau). Everything else separates words. */
const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

export function words(text: string): string[] {
  return text.toLowerCase().replaceAll('’', "'").match(WORD) ?? [];
}

export class TextIndex {
  readonly words: readonly string[];
  readonly #positions = new Map<string, number[]>();

  constructor(text: string) {
    this.words = words(text);
    this.words.forEach((word, i) => {
      const list = this.#positions.get(word);
      if (list) list.push(i);
      else this.#positions.set(word, [i]);
    });
  }

  /**
   * Whether the words occur in this order, next to each other. With `prefix`, the last one only has
   * to start the word (`explo*` matches explode, explosion).
   */
  hasPhrase(phrase: readonly string[], prefix = false): boolean {
    if (phrase.length === 0) return false;
    const last = phrase.length - 1;
    const at = (i: number, j: number): boolean => {
      const word = this.words[i + j];
      if (word === undefined) return false;
      return prefix && j === last ? word.startsWith(phrase[j]!) : word === phrase[j];
    };
    const starts = phrase.length === 1 && prefix ? this.words.map((_, i) => i) : this.#positions.get(phrase[0]!);
    if (!starts) return false;
    return starts.some((start) => phrase.every((_, j) => at(start, j)));
  }
}
