/**
 * Pseudonyms: customers in anonymised rows, and agents in metric labels.
 *
 * - A customer's pseudonym is a keyed hash (HMAC-SHA256) of the wa_id. Retention uses
 *   PSEUDONYM_KEY when it is set (the same customer gets the same pseudonym in every run and on
 *   every replica, so returning customers stay countable); otherwise a random key that lives only
 *   for one run and is never stored, so nobody — not even with the database — can test a number
 *   against the pseudonyms. Erasure always uses a random pseudonym.
 * - Agent labels: as given (AGENT_LABELS=as_is), or `agent-` and 12 hex digits of a keyed hash
 *   (AGENT_LABELS=hashed): stable, so dashboards tell agents apart, and not reversible without
 *   PSEUDONYM_KEY even where agent ids are e-mail addresses.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AgentLabelMode } from '../config/config.ts';
import { PSEUDONYM_PREFIX } from './personal-data.ts';

function keyedHex(key: string | Buffer, purpose: string, value: string): string {
  return createHmac('sha256', key).update(`${purpose}\u0000${value}`).digest('hex');
}

/** A key for one retention run when no PSEUDONYM_KEY is configured; never stored. */
export function runKey(configured: string | undefined): string | Buffer {
  return configured ?? randomBytes(32);
}

export function customerPseudonym(key: string | Buffer, waId: string): string {
  return `${PSEUDONYM_PREFIX}${keyedHex(key, 'customer', waId).slice(0, 32)}`;
}

/** A pseudonym linked to nothing: for erasure. */
export function randomPseudonym(): string {
  return `${PSEUDONYM_PREFIX}${randomBytes(16).toString('hex')}`;
}

export type AgentLabel = (agent: string) => string;

const MAX_CACHED_LABELS = 10_000;

/** The `agent` label value of an agent id; call it wherever an agent label is produced. */
export function agentLabeler(mode: AgentLabelMode, key: string | undefined): AgentLabel {
  if (mode === 'as_is') return (agent) => agent;
  if (!key) throw new Error('AGENT_LABELS=hashed needs PSEUDONYM_KEY');
  const cache = new Map<string, string>();
  return (agent) => {
    let label = cache.get(agent);
    if (label === undefined) {
      label = `agent-${keyedHex(key, 'agent', agent).slice(0, 12)}`;
      if (cache.size >= MAX_CACHED_LABELS) cache.clear();
      cache.set(agent, label);
    }
    return label;
  };
}
