/**
 * The provider seam: what one ingest adapter is. An adapter knows one provider's wire format —
 * how to verify a request, and how to turn it into provider-neutral domain inputs (a Batch) —
 * and nothing else. The generic pipeline (pipeline.ts) owns timing, outcome counting, readiness,
 * body limits, JSON decoding and depth checks, keeping rejected bodies, writing, and error mapping.
 * Adding a provider is a new folder with an adapter and one line in adapters.ts.
 */
import type { Batch, Message } from '../domain/batch.ts';
import type { WriteOutcome } from './writer.ts';

/** A request as an adapter sees it: headers, query, the raw body (signatures are over these bytes). */
export interface RawRequest {
  method: string;
  /** The path as requested, with its query string (`/webhooks/twilio?x=1`): Twilio signs it. */
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  body: Buffer;
}

/**
 * How the pipeline decodes the body before `parse`: JSON, or form-encoded parameters (name →
 * value). A form adapter still gets decoded JSON when the request's Content-Type is JSON (Twilio
 * sends some webhooks as JSON, signed with bodySHA256 in the URL).
 */
export type BodyFormat = 'json' | 'form';

export interface Parsed {
  batch: Batch;
  /** A provider's own delivery id (Chatwoot's X-Chatwoot-Delivery): a redelivery is recognised by it rather than by the body. */
  deliveryKey?: string;
}

export interface Reply {
  status: number;
  /** JSON, unless contentType says otherwise (then a string). */
  body: unknown;
  contentType?: string;
}

export interface ProviderAdapter {
  /** The `provider` label value. */
  readonly provider: string;
  /** Where the provider POSTs. */
  readonly path: string;
  readonly bodyLimitBytes: number;
  readonly format: BodyFormat;
  /**
   * Whether bodies are kept in webhook_deliveries (audit, replay, redelivery detection), signed
   * bodies that could not be parsed included. An API whose items are stored as rows with their
   * own ids (the helpdesk events API) keeps none.
   */
  readonly keepsBodies: boolean;
  /**
   * Whether `parse` depends on the body alone (no headers, query or time of receipt), so that a
   * stored body parses again to the same batch: such webhooks are answered once stored and
   * applied right behind (ingest/queue.ts). Others are written before they are answered.
   */
  readonly appliesFromBody?: boolean;
  /** A GET verification handshake (Meta's hub.challenge), if the provider has one. */
  handshake?(request: RawRequest): Reply;
  /**
   * Authenticates the request (a signature over the raw body, a token); returns why it is
   * refused (answered 401), or undefined when it is genuine.
   */
  verify(request: RawRequest): string | undefined;
  /** Turns the decoded body into domain inputs; throws PayloadError (answered 400) naming the problem. */
  parse(body: unknown, request: RawRequest): Parsed;
  /** The answer after a successful write (default: `{"status": "accepted"|"duplicate"}`). */
  reply?(outcome: WriteOutcome, parsed: Parsed): Reply;
}

/** A body that is not what the provider sends: answered 400 with this message, kept for replay if signed. */
export class PayloadError extends Error {}

/** A customer's message from a provider's webhook; what every such message shares is filled in. */
export function customerMessage(
  message: Pick<
    Message,
    'id' | 'phoneNumberId' | 'customer' | 'type' | 'sentAt' | 'text' | 'contextId' | 'replyIds' | 'isRequest' | 'payload'
  >,
): Message {
  return { ...message, source: 'webhook', direction: 'inbound', sender: 'customer', agentId: null };
}
