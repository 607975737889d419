/**
 * Twilio signs every webhook with `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, the URL it
 * called, followed by every POST parameter sorted by name, each name immediately followed by its
 * value)). A repeated name contributes each of its distinct values, sorted. Values are the
 * decoded ones (`whatsapp:+4915…`, not `whatsapp%3A%2B4915…`), and every received parameter
 * counts, because Twilio adds parameters without notice.
 *
 * Two variants:
 * - a JSON body: the URL carries `bodySHA256=<hex SHA-256 of the raw body>`; the signature covers
 *   the URL alone (which includes that hash), and the hash must match the body;
 * - a Webhooks Rule with a shared key: `X-Twilio-Webhooks-Signature-Settings:
 *   key=…,algorithm=HMAC_SHA256` names the algorithm, and the shared key replaces the auth token.
 *   The signed string is the same.
 * Twilio signs the URL sometimes with and sometimes without the default port, so both are tried
 * (as twilio-node's validateRequest does). Comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { timingSafeEqualText } from '../../http/auth.ts';

export type TwilioAlgorithm = 'sha1' | 'sha256';

/** Parameters as received: each name with its values in arrival order (a name may repeat). */
export type Params = ReadonlyMap<string, readonly string[]> | Readonly<Record<string, string | readonly string[]>>;

/** The form parameters of a raw `application/x-www-form-urlencoded` body, decoded, repeats kept. */
export function formParams(body: Buffer | string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))) {
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

/** The text Twilio signs: the URL, then every parameter name (sorted) with its value. */
export function signedText(url: string, params: Params): string {
  const entries: [string, readonly string[]][] =
    params instanceof Map
      ? [...params]
      : Object.entries(params as Record<string, string | readonly string[]>).map(([k, v]) => [k, typeof v === 'string' ? [v] : v]);
  let text = url;
  for (const [name, values] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const distinct = values.length === 1 ? values : [...new Set(values)].sort();
    for (const value of distinct) text += name + value;
  }
  return text;
}

export function twilioSignature(secret: string, url: string, params: Params, algorithm: TwilioAlgorithm = 'sha1'): string {
  return createHmac(algorithm, secret).update(signedText(url, params), 'utf8').digest('base64');
}

/** The hex SHA-256 of a JSON body, as Twilio puts it in the `bodySHA256` query parameter. */
export function bodySha256(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The URL as given, with the scheme's default port added, and with any port removed. */
export function urlVariants(url: string): string[] {
  const match = /^(https?):\/\/([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(:\d*)?(.*)$/is.exec(url);
  if (!match) return [url];
  const [, scheme, userinfo = '', host, port, rest] = match;
  const base = `${scheme}://${userinfo}${host}`;
  const defaultPort = scheme!.toLowerCase() === 'https' ? ':443' : ':80';
  return [...new Set([url, `${base}${port ?? defaultPort}${rest}`, `${base}${rest}`])];
}

export interface TwilioSecrets {
  /** TWILIO_AUTH_TOKEN, comma-separated: the primary and, while rotating, the secondary token. */
  authTokens: readonly string[];
  /** TWILIO_WEBHOOK_SHARED_KEYS: secrets of the Webhooks Rule shared keys, if any. */
  sharedKeys: readonly string[];
}

export interface SignedRequest {
  /** The full URL Twilio called: PUBLIC_URL + the path and query as received. */
  url: string;
  body: Buffer;
  signature: string | undefined;
  /** X-Twilio-Webhooks-Signature-Settings, if present. */
  signatureSettings: string | undefined;
}

/** Why the request is not genuine, or undefined when it is. */
export function verifyTwilioRequest(secrets: TwilioSecrets, request: SignedRequest): string | undefined {
  const signature = request.signature?.trim();
  if (!signature) return 'missing X-Twilio-Signature header';

  let algorithm: TwilioAlgorithm = 'sha1';
  let keys = secrets.authTokens;
  let keyName = 'TWILIO_AUTH_TOKEN';
  if (request.signatureSettings !== undefined) {
    const named = /(?:^|,)\s*algorithm\s*=\s*([A-Za-z0-9_]+)/.exec(request.signatureSettings)?.[1]?.toUpperCase();
    if (named !== 'HMAC_SHA256' && named !== 'HMAC_SHA1')
      return 'X-Twilio-Webhooks-Signature-Settings names no supported algorithm (HMAC_SHA256 or HMAC_SHA1)';
    if (secrets.sharedKeys.length === 0)
      return 'X-Twilio-Webhooks-Signature-Settings says a shared key signed the request, but TWILIO_WEBHOOK_SHARED_KEYS is not set';
    algorithm = named === 'HMAC_SHA256' ? 'sha256' : 'sha1';
    keys = secrets.sharedKeys;
    keyName = 'TWILIO_WEBHOOK_SHARED_KEYS';
  }

  const hash = bodyHashParameter(request.url);
  let params: Params;
  if (hash === undefined) {
    params = formParams(request.body);
  } else {
    // The JSON variant: the URL (hash included) is signed, and the hash must be the body's.
    const expected = Buffer.from(bodySha256(request.body), 'hex');
    const given = /^[0-9a-f]{64}$/i.test(hash) ? Buffer.from(hash, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bodySHA256 in the URL does not match the body';
    params = new Map();
  }

  // Every candidate is computed and compared, so timing does not tell which one matched.
  let valid = false;
  for (const key of keys) {
    for (const url of urlVariants(request.url))
      valid = timingSafeEqualText(signature, twilioSignature(key, url, params, algorithm)) || valid;
  }
  return valid ? undefined : `X-Twilio-Signature does not match the request signed with ${keyName} (is PUBLIC_URL the URL Twilio calls?)`;
}

/** The bodySHA256 query parameter of the URL, if it has one. */
function bodyHashParameter(url: string): string | undefined {
  const query = url.indexOf('?');
  if (query < 0) return undefined;
  return new URLSearchParams(url.slice(query + 1).split('#')[0]).get('bodySHA256') ?? undefined;
}
