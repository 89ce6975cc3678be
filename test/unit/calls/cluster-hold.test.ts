// A hold message only says "look again at this media session": the sender's id and a session id,
// nothing else, so a message carrying anything a node might be tempted to use (a hold state, a leg)
// is dropped, and so is one whose session id is not a session id.
import { parseHoldMessage } from '../../../calls/cluster-hold.js';

const SESSION = '3f2b8c1e-9d4a-4b7e-8c21-0a5d6e7f8a9b';

test('a hold message is the sender id and a media session id, nothing else', () => {
  expect(parseHoldMessage(JSON.stringify({ n: '0123456789abcdef', s: SESSION }))).toEqual({ n: '0123456789abcdef', s: SESSION });
  for (const bad of [
    '',
    'not json',
    'null',
    '[]',
    `"${SESSION}"`,
    '{}',
    JSON.stringify({ n: '0123456789abcdef' }),
    JSON.stringify({ s: SESSION }),
    JSON.stringify({ n: 42, s: SESSION }),
    JSON.stringify({ n: 'NOT-HEX', s: SESSION }),
    JSON.stringify({ n: 'a'.repeat(65), s: SESSION }),
    JSON.stringify({ n: 'ab', s: 42 }),
    JSON.stringify({ n: 'ab', s: 'not-a-session' }),
    JSON.stringify({ n: 'ab', s: SESSION.toUpperCase() }),
    JSON.stringify({ n: 'ab', s: `${SESSION} ` }),
    JSON.stringify({ n: 'ab', s: SESSION, held: true }),
    JSON.stringify({ n: 'ab', s: SESSION, pad: 'x'.repeat(300) }),
  ]) {
    expect({ bad, parsed: parseHoldMessage(bad) }).toEqual({ bad, parsed: null });
  }
});
