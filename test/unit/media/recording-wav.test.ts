// WAV durations from the header alone (media/recording/wav.ts), checked against files sox writes with
// known lengths, and the cases a crashed recorder leaves behind.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseWav, WAV_HEADER_BYTES } from '../../../media/recording/wav.js';
import { wavDurationMs } from '../../../media/recording/postprocess.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mccs-wav-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sine of `seconds` written by sox with the given rate, channels and sample size (or encoding). */
function sox(name: string, seconds: number, args: string[]): string {
  const file = path.join(dir, name);
  execFileSync('sox', ['-V1', '-n', ...args, file, 'synth', String(seconds), 'sine', '440']);
  return file;
}

function head(file: string): Buffer {
  return readFileSync(file).subarray(0, WAV_HEADER_BYTES);
}

describe('parseWav', () => {
  it.each([
    ['16 kHz mono 16-bit (the AudioBridge mix)', 2.0, ['-r', '16000', '-c', '1', '-b', '16']],
    ['48 kHz stereo 16-bit', 1.234, ['-r', '48000', '-c', '2', '-b', '16']],
    ['8 kHz mono µ-law', 3.5, ['-r', '8000', '-c', '1', '-e', 'u-law']],
    ['44.1 kHz mono 24-bit', 0.777, ['-r', '44100', '-c', '1', '-b', '24']],
  ])('measures %s within 50 ms', async (label, seconds, args) => {
    const file = sox(`${label.replace(/\W+/g, '_')}.wav`, seconds, args as string[]);
    const info = parseWav(head(file), statSync(file).size);
    expect(Math.abs(info.durationMs - seconds * 1000)).toBeLessThan(50);
    expect(await wavDurationMs(file)).toBe(info.durationMs);
  });

  it('reads the format', () => {
    const file = sox('fmt.wav', 1, ['-r', '16000', '-c', '1', '-b', '16']);
    const info = parseWav(head(file), statSync(file).size);
    expect(info).toMatchObject({ format: 1, channels: 1, sampleRate: 16000, bitsPerSample: 16, byteRate: 32000, blockAlign: 2 });
    expect(info.dataOffset + info.dataBytes).toBeLessThanOrEqual(statSync(file).size);
  });

  it('uses the file length when the header was never finished (data size 0, as a crashed recorder leaves it)', () => {
    const file = sox('unfinished.wav', 1.5, ['-r', '16000', '-c', '1', '-b', '16']);
    const bytes = readFileSync(file);
    const info = parseWav(bytes, bytes.length);
    bytes.writeUInt32LE(0, info.dataOffset - 4); // data chunk size
    bytes.writeUInt32LE(0, 4); // RIFF size
    const broken = path.join(dir, 'broken.wav');
    writeFileSync(broken, bytes);
    expect(Math.abs(parseWav(head(broken), bytes.length).durationMs - 1500)).toBeLessThan(50);
  });

  it('never counts more samples than the file holds', () => {
    const file = sox('cut.wav', 2, ['-r', '16000', '-c', '1', '-b', '16']);
    const bytes = readFileSync(file);
    const cut = bytes.subarray(0, 44 + 32000); // one second left, header still says two
    expect(Math.abs(parseWav(cut, cut.length).durationMs - 1000)).toBeLessThan(50);
  });

  it('rejects what is not a WAVE file', () => {
    expect(() => parseWav(Buffer.from('not a wave file at all'), 22)).toThrow(TypeError);
    const riffOnly = Buffer.alloc(12);
    riffOnly.write('RIFF', 0, 'latin1');
    riffOnly.write('WAVE', 8, 'latin1');
    expect(() => parseWav(riffOnly, 12)).toThrow('no fmt chunk');
  });
});
