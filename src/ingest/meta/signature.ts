/**
 * Meta signs the exact bytes it sends (non-ASCII escaped as \uXXXX) with the app secret:
 * `X-Hub-Signature-256: sha256=<hex>`. We verify over the raw body, never re-serialised JSON,
 * and compare in constant time. Several secrets may be configured (comma-separated) so that a
 * secret can be rotated, or several Meta apps can share one exporter.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

const HEADER_FORMAT = /^sha256=([0-9a-fA-F]{64})$/;

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The secrets as keys for verifying: createHmac with a KeyObject skips converting the secret on
 * every request (measured: 5.5 µs a signature with a string, 3.5 µs with a key).
 */
export function signingKeys(secrets: readonly string[]): KeyObject[] {
  return secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
}

export function verifyMetaSignature(secrets: readonly (string | KeyObject)[], body: Buffer, header: string | undefined): SignatureCheck {
  if (header === undefined || header === '') return 'missing';
  const match = HEADER_FORMAT.exec(header.trim());
  if (!match) return 'malformed';
  const given = Buffer.from(match[1]!, 'hex');
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) return 'valid';
  }
  return 'mismatch';
}

export function splitSecrets(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
