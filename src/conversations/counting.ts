/**
 * When a fact is counted. A fold gives every fact of a conversation as it stands now; a fact may
 * still change while inputs for the same moments are in flight (a status, the helpdesk's event,
 * the customer's earlier message). So a fact is counted once it has stood unchanged for
 * SETTLE_AFTER, and then never again under the same key: counters only accumulate. A fact that
 * changes or vanishes after it was counted is a correction — the stored state and the gauges
 * follow the input, the counter keeps what it counted. Pure; storage keeps the entries as JSON.
 */
import type { FactPayload, Facts } from '../domain/conversation.ts';

export interface StoredFact {
  /** The fact as the latest fold gives it. */
  v: FactPayload;
  /** Since when (epoch ms, arrival time) it has stood as `v`. */
  s: number;
  /** Counted: 1 when counted as `v`, else the value it was counted with. Absent while not counted. */
  c?: 1 | FactPayload;
  /** 1 when the latest fold no longer gives this counted fact (kept so it is never counted twice). */
  x?: 1;
}

export type StoredFacts = Record<string, StoredFact>;

export interface Reconciled {
  facts: StoredFacts;
  /** Keys of counted facts that this fold changed or removed (late inputs). */
  corrected: string[];
}

/** Facts are keyed per conversation, except customer messages and CSAT answers, which keep their key across conversations. */
export function isPortableKey(key: string): boolean {
  return key.startsWith('m:') || key.startsWith('csat:');
}

/**
 * Merges a fresh fold's facts into what was stored. `stored` null marks a conversation stored
 * before facts were kept: whatever it gives now was counted then.
 */
export function reconcile(stored: StoredFacts | null, fresh: Facts, now: number): Reconciled {
  const facts: StoredFacts = {};
  const corrected: string[] = [];
  for (const [key, v] of Object.entries(fresh)) {
    const prev = stored?.[key];
    if (stored === null) {
      facts[key] = { v, s: now, c: 1 };
    } else if (!prev) {
      facts[key] = { v, s: now };
    } else if (!prev.x && sameFact(prev.v, v)) {
      facts[key] = prev;
    } else {
      const counted = countedValue(prev);
      facts[key] = counted === undefined ? { v, s: now } : { v, s: now, c: sameFact(counted, v) ? 1 : counted };
      if (counted !== undefined && !sameIgnoringCategory(counted, v)) corrected.push(key);
    }
  }
  for (const [key, prev] of Object.entries(stored ?? {})) {
    if (key in facts) continue;
    const counted = countedValue(prev);
    if (counted === undefined) continue;
    facts[key] = { v: counted, s: prev.s, c: 1, x: 1 };
    if (!prev.x) corrected.push(key);
  }
  return { facts, corrected };
}

function countedValue(fact: StoredFact): FactPayload | undefined {
  if (fact.c === undefined) return undefined;
  return fact.c === 1 ? fact.v : fact.c;
}

export interface Settled {
  facts: StoredFacts;
  /** Facts to count now, by key. */
  count: [string, FactPayload][];
  /** When the next uncounted fact settles; null when none waits. */
  settleAt: number | null;
}

/** Marks the facts that have stood for `settleMs` as counted and returns them. */
export function settle(stored: StoredFacts, now: number, settleMs: number): Settled {
  const facts: StoredFacts = {};
  const count: [string, FactPayload][] = [];
  let settleAt: number | null = null;
  for (const [key, fact] of Object.entries(stored)) {
    if (fact.c !== undefined || fact.x) {
      facts[key] = fact;
    } else if (fact.s + settleMs <= now) {
      facts[key] = { ...fact, c: 1 };
      count.push([key, fact.v]);
    } else {
      facts[key] = fact;
      settleAt = Math.min(settleAt ?? Number.POSITIVE_INFINITY, fact.s + settleMs);
    }
  }
  return { facts, count, settleAt };
}

function sameFact(a: FactPayload, b: FactPayload): boolean {
  return canonical(a) === canonical(b);
}

/** A later categorisation relabels facts; that is not a late input. */
function sameIgnoringCategory(a: FactPayload, b: FactPayload): boolean {
  return canonical({ ...a, category: '' }) === canonical({ ...b, category: '' });
}

function canonical(fact: FactPayload): string {
  return JSON.stringify(Object.entries(fact).sort(([x], [y]) => (x < y ? -1 : 1)));
}
