// HTML (feed content, Mastodon statuses) to plain text for matching and for the agent. Not a renderer:
// block elements become line breaks, scripts and styles vanish, entities are decoded, spaces collapse.
import { decodeHTML } from 'entities';

const DROPPED = /<(script|style|head|template)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const BREAKS = /<(br|\/p|\/div|\/li|\/h[1-6]|\/blockquote|\/tr|hr)\b[^>]*>/gi;
const TAG = /<\/?[A-Za-z][^>]*>|<!--[\s\S]*?-->|<!\[CDATA\[|\]\]>/g;

export function htmlToText(html: string): string {
  if (!html.includes('<') && !html.includes('&')) return collapse(html);
  const text = decodeHTML(html.replace(DROPPED, ' ').replace(BREAKS, '\n').replace(TAG, ' '));
  return collapse(text);
}

function collapse(text: string): string {
  return text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[\s]*/g, '\n')
    .trim();
}
