/** The Meta adapter's pure parts: ids, attribution, text extraction, walking a batch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normalizeWaId } from '../src/domain/whatsapp.ts';
import { parseAttribution } from '../src/ingest/meta/normalize.ts';
import { normalizeMetaWebhook, PayloadError, textOf } from '../src/ingest/meta/normalize.ts';
import { signBody, signingKeys, verifyMetaSignature } from '../src/ingest/meta/signature.ts';
import { contact, envelope, everyMessageType, messagesChange, signed, status, APP_SECRET } from './support/meta.ts';

describe('customer ids', () => {
  it('reduces phone numbers to digits and keeps other ids', () => {
    assert.equal(normalizeWaId('+49 151 1234-5678'), '4915112345678');
    assert.equal(normalizeWaId('16505551234'), '16505551234');
    assert.equal(normalizeWaId('HK.abc123XYZ'), 'HK.abc123XYZ');
  });
});

describe('attribution', () => {
  it('reads agent:<id> and bot, and nothing else', () => {
    assert.deepEqual(parseAttribution('agent:alice.m'), { sender: 'agent', agentId: 'alice.m' });
    assert.deepEqual(parseAttribution('bot'), { sender: 'bot', agentId: null });
    assert.deepEqual(parseAttribution('bot:faq-flow'), { sender: 'bot', agentId: null });
    assert.deepEqual(parseAttribution('agent:'), { sender: 'unknown', agentId: null });
    assert.deepEqual(parseAttribution('agent:has space'), { sender: 'unknown', agentId: null });
    assert.deepEqual(parseAttribution('{"ticket":1}'), { sender: 'unknown', agentId: null });
    assert.deepEqual(parseAttribution(undefined), { sender: 'unknown', agentId: null });
  });
});

describe('text of a message', () => {
  it('finds the readable text of each type that has one', () => {
    const texts = Object.fromEntries(
      everyMessageType('491').map((m) => [
        `${m.type}${m.type === 'interactive' ? `:${(m.interactive as { type: string }).type}` : ''}`,
        textOf(m as never),
      ]),
    );
    assert.equal(texts.text, 'Hallo, wo bleibt meine Bestellung? Grüße 👋');
    assert.equal(texts.image, 'Beschädigt');
    assert.equal(texts.video, null);
    assert.equal(texts['interactive:button_reply'], '5 ⭐');
    assert.equal(texts['interactive:list_reply'], 'Rechnung');
    assert.equal(texts['interactive:nfm_reply'], 'Sent');
    assert.equal(texts.button, 'Gut');
    assert.equal(texts.reaction, '👍');
    assert.equal(texts.location, 'Berlin');
    assert.equal(texts.audio, null);
    assert.equal(texts.poll_vote_2027, null);
  });
});

describe('normalizeMetaWebhook', () => {
  it('walks every entry and change, and keeps value-level errors as an account event', () => {
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        { id: 'w1', changes: [messagesChange({ contacts: [contact('+4911', 'A')], messages: everyMessageType('+4911').slice(0, 2) })] },
        {
          id: 'w2',
          time: 1764000000,
          changes: [
            messagesChange({ statuses: [status('wamid.1', 'sent'), status('wamid.1', 'delivered')] }),
            messagesChange({ errors: [{ code: 130429, title: 'Rate limit hit' }] }),
          ],
        },
      ],
    };
    const batch = normalizeMetaWebhook(payload);
    assert.equal(batch.messages.length, 2);
    assert.equal(batch.messages[0]!.customer, '4911');
    assert.equal(batch.contacts[0]!.waId, '4911');
    assert.equal(batch.statuses.length, 2);
    assert.deepEqual(
      batch.accountEvents.map((e) => [e.field, e.accountId, e.occurredAt?.toISOString()]),
      [['messages.errors', 'w2', '2025-11-24T16:00:00.000Z']],
    );
  });

  it('throws a PayloadError naming the path of the first problems', () => {
    const bad = envelope([
      messagesChange({
        messages: [
          { id: '', from: '1', timestamp: '1', type: 'text' },
          { id: 'x', timestamp: '1', type: 'text' },
        ],
      }),
    ]);
    assert.throws(
      () => normalizeMetaWebhook(bad),
      (e: unknown) => {
        assert.ok(e instanceof PayloadError);
        assert.match(e.message, /entry\[0\]\.changes\[0\]\.value\.messages\[0\]\.id: must not be empty/);
        assert.match(e.message, /value\.messages\[1\]\.from/);
        return true;
      },
    );
  });
});

describe('verifyMetaSignature', () => {
  it('tells missing, malformed, mismatched and valid apart', () => {
    const { body, signature } = signed({ hello: 'wörld' });
    const raw = Buffer.from(body);
    assert.equal(verifyMetaSignature([APP_SECRET], raw, signature), 'valid');
    assert.equal(verifyMetaSignature([APP_SECRET], raw, signature.toUpperCase().replace('SHA256', 'sha256')), 'valid');
    assert.equal(verifyMetaSignature([APP_SECRET], raw, undefined), 'missing');
    assert.equal(verifyMetaSignature([APP_SECRET], raw, 'sha256=zz'), 'malformed');
    assert.equal(verifyMetaSignature(['other'], raw, signature), 'mismatch');
    assert.equal(verifyMetaSignature([APP_SECRET], Buffer.from(`${body} `), signature), 'mismatch');
  });

  it('verifies with prepared keys exactly as with the secrets themselves, for any secret and body', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
        fc.uint8Array({ maxLength: 500 }),
        (secret, other, bytes) => {
          const body = Buffer.from(bytes);
          const signature = signBody(secret, body);
          assert.equal(verifyMetaSignature(signingKeys([secret]), body, signature), 'valid');
          assert.equal(verifyMetaSignature(signingKeys([other, secret]), body, signature), 'valid', 'any of several secrets');
          const expected = other === secret ? 'valid' : 'mismatch';
          assert.equal(verifyMetaSignature(signingKeys([other]), body, signature), expected);
          assert.equal(verifyMetaSignature([other], body, signature), expected);
        },
      ),
    );
  });
});
