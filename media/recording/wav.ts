// Just enough of RIFF/WAVE to know how long a recording is, without an external tool: the format
// chunk (rate, channels, sample size) and where the samples are. Janus's AudioBridge writes the sizes
// when it closes the file; a file left by a crash still says 0, so the file's length is used instead.

export interface WavInfo {
  /** 1 = PCM, 3 = IEEE float, 6/7 = G.711 A/µ-law, 0xFFFE = extensible. */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes of sound per second. */
  byteRate: number;
  blockAlign: number;
  /** Offset of the first sample byte in the file. */
  dataOffset: number;
  /** Bytes of samples (from the header, or up to the end of the file when the header has no size). */
  dataBytes: number;
  durationMs: number;
}

/** How much of the file parseWav needs at most: the chunks before the samples are small. */
export const WAV_HEADER_BYTES = 64 * 1024;

/**
 * Reads a WAVE header. `head` is the start of the file (WAV_HEADER_BYTES is plenty), `fileSize` the
 * whole file's length. Throws TypeError when it is not a WAVE file we can measure.
 */
export function parseWav(head: Buffer, fileSize: number): WavInfo {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') {
    throw new TypeError('not a RIFF/WAVE file');
  }
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'durationMs'> | undefined;
  let offset = 12;
  while (offset + 8 <= head.length) {
    const id = head.toString('latin1', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > head.length) throw new TypeError('truncated fmt chunk');
      const channels = head.readUInt16LE(body + 2);
      const sampleRate = head.readUInt32LE(body + 4);
      const bitsPerSample = head.readUInt16LE(body + 14);
      const blockAlign = head.readUInt16LE(body + 12) || (channels * bitsPerSample) / 8;
      fmt = {
        format: head.readUInt16LE(body),
        channels,
        sampleRate,
        bitsPerSample,
        byteRate: head.readUInt32LE(body + 8) || sampleRate * blockAlign,
        blockAlign,
      };
    } else if (id === 'data') {
      if (!fmt) throw new TypeError('data chunk before the fmt chunk');
      if (!(fmt.byteRate > 0 && fmt.blockAlign > 0)) throw new TypeError('fmt chunk without a byte rate');
      const available = Math.max(0, fileSize - body);
      // 0 or 0xFFFFFFFF: written before the length was known (streaming, or a recorder that died).
      const declared = size === 0 || size === 0xffffffff || size > available ? available : size;
      const dataBytes = declared - (declared % fmt.blockAlign);
      return { ...fmt, dataOffset: body, dataBytes, durationMs: Math.round((dataBytes * 1000) / fmt.byteRate) };
    }
    offset = body + size + (size % 2); // chunks are padded to an even length
  }
  throw new TypeError(fmt ? 'no data chunk in the first bytes of the file' : 'no fmt chunk');
}
