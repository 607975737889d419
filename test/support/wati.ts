/** WATI requests as WATI sends them: unsigned JSON to the webhook URL that carries the token. */
import { readFileSync } from 'node:fs';
import request from 'supertest';
import type { App } from '../../src/app.ts';

export const WATI_TOKEN = 'test-wati-token-0123456789abcdef';
/** The channel number of the fixtures. */
export const WATI_CHANNEL = '4930123456';
export const WATI_SETTINGS = { WATI_WEBHOOK_TOKEN: WATI_TOKEN };

/** A fixture event's JSON text. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`../fixtures/wati/${name}.json`, import.meta.url), 'utf8');
}

/** A fixture event, with fields replaced or added. */
export function fixture(name: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(JSON.parse(fixtureText(name)) as Record<string, unknown>), ...changes };
}

/** POSTs a body (an object, or JSON text as is) to /webhooks/wati/<token> (or ?token=). */
export function postWati(app: App, body: unknown, options: { token?: string | null; via?: 'path' | 'query' } = {}) {
  const token = options.token === undefined ? WATI_TOKEN : options.token;
  const path =
    token === null
      ? '/webhooks/wati'
      : options.via === 'query'
        ? `/webhooks/wati?token=${encodeURIComponent(token)}`
        : `/webhooks/wati/${token}`;
  return request(app.express)
    .post(path)
    .set('Content-Type', 'application/json')
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}
