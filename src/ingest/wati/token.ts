/**
 * WATI signs nothing and sends no secret header, so its requests are authenticated by what only
 * WATI knows: the URL. The webhook URL registered in WATI carries WATI_WEBHOOK_TOKEN as its last
 * path segment, `/webhooks/wati/<token>` (or, where a path cannot be set, as `?token=<token>`).
 * The token is compared in constant time against each configured one (several while rotating).
 */
import { timingSafeEqualText } from '../../http/auth.ts';
import type { RawRequest } from '../adapter.ts';

/** The token a request carries: the path segment after /webhooks/wati/, else the `token` query parameter. */
export function requestToken(request: Pick<RawRequest, 'originalUrl' | 'query'>): string | undefined {
  const path = request.originalUrl.split('?')[0] ?? '';
  const segment = /^\/webhooks\/wati\/([^/]+)\/?$/i.exec(path)?.[1];
  if (segment !== undefined) {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  }
  const query = request.query.token;
  return typeof query === 'string' && query !== '' ? query : undefined;
}

/** Why the request is refused, or undefined when it carries a configured token. */
export function checkWatiToken(tokens: readonly string[], request: Pick<RawRequest, 'originalUrl' | 'query'>): string | undefined {
  const given = requestToken(request);
  if (given === undefined) return 'the WATI webhook URL must carry the token: /webhooks/wati/<WATI_WEBHOOK_TOKEN>';
  let valid = false;
  for (const token of tokens) valid = timingSafeEqualText(given, token) || valid;
  return valid ? undefined : 'the token in the WATI webhook URL does not match WATI_WEBHOOK_TOKEN';
}
