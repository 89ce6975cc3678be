// How long an Ogg/Opus prompt plays, read from the file itself: the last page's granule position
// (48 kHz samples) minus the OpusHead pre-skip. Used to play prompts one after another, since Janus
// says nothing when a file it plays into a room ends.
import { readFileSync } from 'node:fs';

export function opusDurationMs(file: string): number {
  const data = readFileSync(file);
  const head = data.indexOf('OpusHead');
  const last = data.lastIndexOf('OggS');
  if (head < 0 || last < 0 || last + 14 > data.length) throw new TypeError(`${file} is not an Ogg/Opus file`);
  const preSkip = data.readUInt16LE(head + 10);
  const granule = Number(data.readBigUInt64LE(last + 6));
  return Math.max(0, Math.round(((granule - preSkip) / 48_000) * 1000));
}
