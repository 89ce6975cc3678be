// Bytes of a fetched document to text, by the first of: byte order mark, the HTTP charset, the XML
// declaration, UTF-8. Bytes that are not valid in the chosen encoding fail the document rather than
// turning into replacement characters in a post.
import iconv from 'iconv-lite';

export class DecodeError extends Error {
  override name = 'DecodeError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function charsetOf(body: Buffer, contentType: string | undefined): string {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  const fromHeader = contentType && /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (fromHeader) return fromHeader.toLowerCase();
  const declaration = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(body.subarray(0, 200).toString('latin1'));
  return declaration ? declaration[1]!.toLowerCase() : 'utf-8';
}

/** Decodes a document; throws DecodeError naming the encoding when it is unknown or the bytes do not fit it. */
export function decodeDocument(body: Buffer, contentType?: string): string {
  const charset = charsetOf(body, contentType);
  if (charset === 'utf-8' || charset === 'utf8') {
    try {
      return utf8.decode(body);
    } catch {
      throw new DecodeError('the document is not valid UTF-8');
    }
  }
  if (!iconv.encodingExists(charset)) throw new DecodeError(`unknown character encoding "${String(charset).slice(0, 40)}"`);
  const text = iconv.decode(body, charset);
  if (text.includes('\ufffd')) throw new DecodeError(`the document has bytes that are not valid ${charset}`);
  return text;
}
