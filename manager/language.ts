// The language of a post the source did not label, by tinyld (pure JS, ISO 639-1 codes). Short texts
// say too little to tell; they stay unlabelled rather than guessed.
import { detect } from 'tinyld';

const MIN_LETTERS = 20;

export function detectLanguage(text: string): string | undefined {
  if (text.replace(/[^\p{L}]/gu, '').length < MIN_LETTERS) return undefined;
  const code = detect(text);
  return /^[a-z]{2}$/.test(code) ? code : undefined;
}
