/**
 * Chatwoot (v4.11.2+ account webhooks, v4.13.0+ API-inbox and agent-bot webhooks) signs each
 * delivery with the webhook's secret: `X-Chatwoot-Signature: sha256=<hex>` is
 * HMAC-SHA256(secret, "<X-Chatwoot-Timestamp>.<raw body>"). The timestamp (unix seconds) is part
 * of the signed string, so a captured request cannot be replayed later than the tolerance.
 * Older Chatwoot signs nothing and sends neither header.
 */
import { hmacSha256, sameDigest } from '../fields.ts';

/** How far the signed timestamp may lie from our clock, either way (Chatwoot's PR recommends ~5 minutes). */
export const CHATWOOT_TIMESTAMP_TOLERANCE_S = 300;

export type ChatwootSignatureCheck = 'valid' | 'missing' | 'malformed' | 'no_timestamp' | 'stale' | 'mismatch';

/** The header value Chatwoot sends for `body` signed at `timestamp` (unix seconds). */
export function signChatwoot(secret: string, timestamp: number | string, body: Buffer | string): string {
  return `sha256=${hmacSha256(secret, `${timestamp}.`, body).toString('hex')}`;
}

export function verifyChatwootSignature(
  secrets: readonly string[],
  body: Buffer,
  header: string | undefined,
  timestamp: string | undefined,
  nowMs: number,
): ChatwootSignatureCheck {
  if (header === undefined) return 'missing';
  const match = /^(?:sha256=)?([0-9a-f]{64})$/i.exec(header);
  if (!match) return 'malformed';
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return 'no_timestamp';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > CHATWOOT_TIMESTAMP_TOLERANCE_S) return 'stale';
  const given = Buffer.from(match[1]!, 'hex');
  return secrets.some((secret) => sameDigest(hmacSha256(secret, `${timestamp}.`, body), given)) ? 'valid' : 'mismatch';
}

export const CHATWOOT_SIGNATURE_PROBLEMS: Record<Exclude<ChatwootSignatureCheck, 'valid'>, string> = {
  missing: 'missing X-Chatwoot-Signature header (Chatwoot signs from v4.11.2 once the webhook has a secret)',
  malformed: 'X-Chatwoot-Signature must be sha256=<64 hex digits>',
  no_timestamp: 'X-Chatwoot-Timestamp must be the unix seconds the signature was made at',
  stale: `X-Chatwoot-Timestamp is more than ${CHATWOOT_TIMESTAMP_TOLERANCE_S} seconds away from the exporter's clock (a replay, or a clock out of sync)`,
  mismatch: 'X-Chatwoot-Signature does not match "<timestamp>.<body>" signed with CHATWOOT_WEBHOOK_SECRET',
};
