/**
 * respond.io signs each webhook with that webhook's own signing key:
 * `X-Webhook-Signature: base64(HMAC-SHA256(key, raw body))`. One workspace registers one
 * webhook per event type, each with its key, so several keys are tried (RESPONDIO_SIGNING_KEYS).
 * The scheme is known from independent receivers, not from a published page (docs/providers.md):
 * the header is read leniently (standard or URL-safe base64, or hex; an optional `sha256=`), and
 * a body that does not verify as sent is tried once more as compact JSON, which is what those
 * receivers verify.
 */
import { hmacSha256, sameDigest } from '../fields.ts';

export type RespondioSignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

export function signRespondio(key: string, body: Buffer | string): string {
  return hmacSha256(key, body).toString('base64');
}

export function verifyRespondioSignature(keys: readonly string[], body: Buffer, header: string | undefined): RespondioSignatureCheck {
  if (header === undefined) return 'missing';
  const given = digestOf(header.replace(/^sha256=/i, ''));
  if (!given) return 'malformed';
  if (keys.some((key) => sameDigest(hmacSha256(key, body), given))) return 'valid';
  const compact = compactJson(body);
  if (compact !== undefined && keys.some((key) => sameDigest(hmacSha256(key, compact), given))) return 'valid';
  return 'mismatch';
}

/** The 32 bytes a signature header names, or undefined when it is no SHA-256 digest in base64 or hex. */
function digestOf(text: string): Buffer | undefined {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return undefined;
  const digest = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return digest.length === 32 ? digest : undefined;
}

/** The body re-serialised without whitespace, if it is JSON and differs from what was sent. */
function compactJson(body: Buffer): string | undefined {
  try {
    const compact = JSON.stringify(JSON.parse(body.toString('utf8')));
    return compact === body.toString('utf8') ? undefined : compact;
  } catch {
    return undefined;
  }
}

export const RESPONDIO_SIGNATURE_PROBLEMS: Record<Exclude<RespondioSignatureCheck, 'valid'>, string> = {
  missing: 'missing X-Webhook-Signature header (respond.io signs every webhook with its signing key)',
  malformed: 'X-Webhook-Signature must be the base64 HMAC-SHA256 of the body (44 characters)',
  mismatch: 'X-Webhook-Signature does not match the body signed with any of RESPONDIO_SIGNING_KEYS',
};
