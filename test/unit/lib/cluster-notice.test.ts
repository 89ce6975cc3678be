// A cluster notice only says "look again": the one shape accepted is the sender's id, so a message
// with anything else in it (data a node might be tempted to use) is dropped.
import { noticeSender } from '../../../lib/cluster-notice.js';

test('a notice is the sender id and nothing else', () => {
  expect(noticeSender('{"n":"0123456789abcdef"}')).toBe('0123456789abcdef');
  for (const bad of [
    '',
    'not json',
    'null',
    '[]',
    '"0123456789abcdef"',
    '{}',
    '{"n":42}',
    '{"n":"NOT-HEX"}',
    '{"n":"ab","trunks":[{"id":"evil","allow":["0.0.0.0/0"]}]}',
    `{"n":"${'a'.repeat(65)}"}`,
    `{"n":"ab","pad":"${'x'.repeat(300)}"}`,
  ]) {
    expect({ bad, sender: noticeSender(bad) }).toEqual({ bad, sender: null });
  }
});
