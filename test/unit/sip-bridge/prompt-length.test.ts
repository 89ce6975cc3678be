// Prompt lengths from the Ogg/Opus files themselves, checked against ffprobe's reading.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PROMPTS_DIR } from '../../../sip-bridge/index.js';
import { opusDurationMs } from '../../../sip-bridge/prompt-length.js';

test.each(['greeting', 'position-prefix', 'number-7', 'music-on-hold'])('%s: the length agrees with ffprobe within 30 ms', (name) => {
  const file = path.join(PROMPTS_DIR, `${name}.opus`);
  const probed = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).toString()) * 1000;
  const ours = opusDurationMs(file);
  expect(ours).toBeGreaterThan(100);
  expect(Math.abs(ours - probed)).toBeLessThan(30);
});

test('a file that is not Ogg/Opus is refused', () => {
  expect(() => opusDurationMs(path.join(PROMPTS_DIR, 'make-prompts.sh'))).toThrow(TypeError);
});
