/**
 * Helpdesks (Chatwoot, respond.io) number what the simulator names: agents are user ids, messages
 * and conversations integers. These give each simulated name a stable number, so the same agent
 * is the same user id in webhooks and in the presence events sent to the events API.
 */
import { AGENTS } from '../scenario.ts';
import type { PlannedEvent } from '../plan.ts';

/** A stable positive 31-bit number for a text (FNV-1a). */
export function numberOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff || 1;
}

/** The helpdesk user id of a simulated agent: 1 … n in the team's order. */
export function userIdOf(agent: string): number {
  const index = AGENTS.findIndex((a) => a.id === agent);
  return index >= 0 ? index + 1 : 1000 + (numberOf(agent) % 100_000);
}

/** The agent of a status callback the planner attached (`agent:<id>`), or undefined for the bot and everything else. */
export function agentOfCallback(callback: string | undefined): string | undefined {
  return callback?.startsWith('agent:') ? callback.slice('agent:'.length) : undefined;
}

/** A presence event as the helpdesk reports it: the agent as its user id. */
export function withUserId(event: PlannedEvent): PlannedEvent {
  return event.agent === undefined ? event : { ...event, agent: String(userIdOf(event.agent)) };
}

/** The id an entry of a `<id>=<phone_number_id>` setting maps to this business number, else the fallback. */
export function idFor(setting: string | undefined, phoneNumberId: string, fallback: number): number {
  for (const part of (setting ?? '').split(',')) {
    const [id, number] = part.split('=').map((s) => s.trim());
    if (number === phoneNumberId && id && /^\d+$/.test(id)) return Number(id);
  }
  return fallback;
}
