/** Twilio requests as Twilio sends them: form-encoded, signed with X-Twilio-Signature over PUBLIC_URL + path + sorted parameters. */
import { readFileSync } from 'node:fs';
import request from 'supertest';
import type { App } from '../../src/app.ts';
import { bodySha256, formParams, twilioSignature } from '../../src/ingest/twilio/signature.ts';

export const TWILIO_TOKEN = 'test-twilio-auth-token-0123456789';
export const PUBLIC_URL = 'https://exporter.example.com';
/** The business number of the fixtures (Twilio's sandbox number). */
export const TWILIO_NUMBER = '14155238886';
export const TWILIO_SETTINGS = { TWILIO_AUTH_TOKEN: TWILIO_TOKEN, PUBLIC_URL };

export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/twilio/${name}`, import.meta.url), 'utf8');
}

export interface TwilioPost {
  /** Path and query as Twilio calls it (default /webhooks/twilio). */
  path?: string;
  token?: string;
  publicUrl?: string;
  /** A signature to send instead of the right one; null sends none. */
  signature?: string | null;
  headers?: Record<string, string>;
}

/** POSTs form parameters (an object or an encoded body), signed as Twilio signs them. */
export function postTwilio(app: App, params: Record<string, string> | string, options: TwilioPost = {}) {
  const path = options.path ?? '/webhooks/twilio';
  const body = typeof params === 'string' ? params : new URLSearchParams(params).toString();
  const signature =
    options.signature === undefined
      ? twilioSignature(options.token ?? TWILIO_TOKEN, (options.publicUrl ?? PUBLIC_URL) + path, formParams(body))
      : options.signature;
  let req = request(app.express).post(path).set('Content-Type', 'application/x-www-form-urlencoded');
  if (signature !== null) req = req.set('X-Twilio-Signature', signature);
  for (const [name, value] of Object.entries(options.headers ?? {})) req = req.set(name, value);
  return req.send(body);
}

/** POSTs a JSON body the way Twilio does: `bodySHA256` in the URL, the signature over the URL alone. */
export function postTwilioJson(app: App, json: string, options: { token?: string; hash?: string } = {}) {
  const path = `/webhooks/twilio?bodySHA256=${options.hash ?? bodySha256(json)}`;
  const signature = twilioSignature(options.token ?? TWILIO_TOKEN, PUBLIC_URL + path, new Map());
  return request(app.express).post(path).set('Content-Type', 'application/json').set('X-Twilio-Signature', signature).send(json);
}
