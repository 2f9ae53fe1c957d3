/** A2A bad input is invalid params (-32602) with a clear message, and nothing is stored. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

for (const dialect of dialects()) describe(`A2A bad input [${dialect}]`, () => {
  const app = useServer({ dialect });

  const rpc = async (body: unknown, v1: boolean) => {
    const res = await fetch(`${app.url}/v1/a2a`, { method: 'POST', headers: { 'content-type': 'application/json', ...(v1 ? { 'A2A-Version': '1.0' } : {}) }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    return (await res.json()) as { error?: { code: number; message: string } };
  };
  const send = (message: unknown, v1: boolean) => ({ jsonrpc: '2.0', id: 7, method: v1 ? 'SendMessage' : 'message/send', params: { message } });
  const cases: Array<[string, boolean, unknown, RegExp]> = [
    ['v0.3 text part without text', false, { kind: 'message', messageId: 'b1', role: 'user', parts: [{ kind: 'text' }] }, /parts\[0\].*text/],
    ['v0.3 file bytes that are not base64', false, { kind: 'message', messageId: 'b2', role: 'user', parts: [{ kind: 'file', file: { bytes: '!!!not base64***', mimeType: 'image/png' } }] }, /parts\[0\]\.file\.bytes is not valid base64/],
    ['v0.3 unknown role', false, { kind: 'message', messageId: 'b3', role: 'robot', parts: [{ kind: 'text', text: 'hi' }] }, /role/],
    ['v1.0 raw bytes that are not base64', true, { messageId: 'b4', role: 'ROLE_USER', parts: [{ raw: '!!!not base64***', mediaType: 'image/png' }] }, /parts\[0\]\.raw is not valid base64/],
    ['v1.0 unknown role', true, { messageId: 'b5', role: 'ROLE_ROBOT', parts: [{ text: 'hi' }] }, /role must be ROLE_USER/],
    ['v1.0 part without content', true, { messageId: 'b6', role: 'ROLE_USER', parts: [{}] }, /content/],
  ];
  for (const [what, v1, message, wording] of cases) {
    it(`${what} → -32602`, async () => {
      const before = await app.server.store.db.kysely.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      const reply = await rpc(send(message, v1), v1);
      assert.equal(reply.error?.code, -32602, JSON.stringify(reply));
      assert.match(reply.error!.message, wording);
      assert.doesNotMatch(reply.error!.message, /Cannot read|undefined/);
      const after = await app.server.store.db.kysely.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      assert.equal(Number(after?.n), Number(before?.n), 'nothing stored');
    });
  }

  it('valid base64 (padded, unpadded, URL-safe) is accepted', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'seen' }] });
    const png = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64url');
    const reply = await rpc(send({ messageId: 'ok1', role: 'ROLE_USER', parts: [{ text: 'look' }, { raw: png, mediaType: 'image/png' }] }, true), true);
    assert.equal(reply.error, undefined, JSON.stringify(reply));
  });
});
