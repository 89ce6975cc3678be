// Signatures of webhook and WebSub bodies, and what the webhook intake answers.
import { describe, expect, it } from '@jest/globals';
import { sign, verifySignature, WEBHOOK_SIGNATURE_METHODS, WEBSUB_SIGNATURE_METHODS } from '../../../manager/signature.js';
import { readWebhook } from '../../../manager/sources/webhook-source.js';

const SECRET = 'a-webhook-secret-of-some-length';
const body = Buffer.from(JSON.stringify({ id: 'w1', text: '<p>Battery <b>fire</b></p>', author: { handle: '@a', reach: 10 }, publishedAt: '2026-03-03T10:00:00Z' }));

describe('verifySignature', () => {
  it('accepts each WebSub method and refuses a changed body, another key or method', () => {
    for (const method of WEBSUB_SIGNATURE_METHODS) expect(verifySignature(sign(body, SECRET, method), body, SECRET, WEBSUB_SIGNATURE_METHODS)).toBe(true);
    expect(verifySignature(sign(body, SECRET), Buffer.concat([body, Buffer.from(' ')]), SECRET, WEBSUB_SIGNATURE_METHODS)).toBe(false);
    expect(verifySignature(sign(body, 'another-secret'), body, SECRET, WEBSUB_SIGNATURE_METHODS)).toBe(false);
    expect(verifySignature(sign(body, SECRET, 'sha1'), body, SECRET, WEBHOOK_SIGNATURE_METHODS)).toBe(false);
    expect(verifySignature(undefined, body, SECRET, WEBHOOK_SIGNATURE_METHODS)).toBe(false);
    expect(verifySignature('sha256=zz', body, SECRET, WEBHOOK_SIGNATURE_METHODS)).toBe(false);
  });
});

describe('readWebhook', () => {
  it('reads a signed post', () => {
    const { reply, posts } = readWebhook('hook', SECRET, body, { 'x-signature': sign(body, SECRET) });
    expect(reply.status).toBe(202);
    expect(posts).toEqual([{ sourceId: 'hook', externalId: 'w1', text: 'Battery fire', author: { handle: '@a', reach: 10 }, publishedAt: Date.UTC(2026, 2, 3, 10) }]);
  });

  it('answers 401 to a bad signature and 400 to bad JSON or an invalid post', () => {
    expect(readWebhook('hook', SECRET, body, { 'x-signature': sign(body, 'wrong') }).reply.status).toBe(401);
    const notJson = Buffer.from('{"id":');
    expect(readWebhook('hook', SECRET, notJson, { 'x-signature': sign(notJson, SECRET) }).reply.status).toBe(400);
    const invalid = Buffer.from(JSON.stringify([{ id: 'x', publishedAt: 1 }]));
    const res = readWebhook('hook', SECRET, invalid, { 'x-signature': sign(invalid, SECRET) });
    expect(res.reply.status).toBe(400);
    expect(res.posts).toEqual([]);
  });
});
