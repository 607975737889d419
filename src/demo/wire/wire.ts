/**
 * How the simulator speaks to the exporter: one wire format per provider, each turning a planned
 * action into the HTTP request that provider would send (or null when the provider has no such
 * message). Adding a provider to the simulator is one file here and one line in index.ts.
 */
import type { Action, BusinessNumber, PlannedEvent } from '../plan.ts';

export interface WireContext {
  /** Base URL of the exporter. */
  target: string;
  business: BusinessNumber;
  /** Real ms of the run's start; an action's time is baseMs + action.stamp. */
  baseMs: number;
  /** The exporter's secrets the provider signs with, by setting name (WHATSAPP_APP_SECRET, EVENTS_API_TOKEN, …). */
  secrets: Readonly<Record<string, string | undefined>>;
}

export interface WireRequest {
  url: string;
  init: RequestInit;
}

export type WireFormat = (action: Action, context: WireContext) => WireRequest | null;

/** The first of a setting's comma-separated secrets (the one a provider signs with while several are accepted). */
export function firstSecret(context: WireContext, name: string): string {
  return (
    (context.secrets[name] ?? '')
      .split(',')
      .map((s) => s.trim())
      .find((s) => s.length > 0) ?? ''
  );
}

/** The helpdesk event for POST /api/v1/events: what every provider's helpdesk reports beside its webhooks. */
export function eventsRequest(event: PlannedEvent, context: WireContext, stampMs: number): WireRequest {
  const body: Record<string, unknown> = { id: event.id, type: event.type, at: new Date(stampMs).toISOString() };
  if (event.customer) Object.assign(body, { customer: event.customer, phone_number_id: context.business.phoneNumberId });
  for (const field of ['agent', 'message_id', 'by', 'category', 'status'] as const) {
    if (event[field] !== undefined) body[field] = event[field];
  }
  return {
    url: `${context.target}/api/v1/events`,
    init: {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${context.secrets.EVENTS_API_TOKEN ?? ''}` },
      body: JSON.stringify(body),
    },
  };
}
