/**
 * What time alone decides about conversations: a service window expiring unanswered,
 * auto-resolution after AUTO_RESOLVE_AFTER without messages, and the FCR window closing. One
 * replica runs it at a time (a transaction-scoped advisory lock); the facts it establishes are
 * counted after its commit, like everything else.
 */
import type { BusinessCalendar } from '../config/business-hours.ts';
import { advance, SERVICE_WINDOW_MS, type Fact, type LifecycleSettings } from '../conversations/lifecycle.ts';
import type { ConversationMetrics } from '../metrics/conversations.ts';
import { loadDueConversations, recordHandling, saveConversations } from '../storage/conversation-store.ts';
import type { Database } from '../storage/database.ts';
import { LOCKS } from '../storage/locks.ts';

const BATCH = 500;

export interface TimersContext {
  database: Database;
  settings: LifecycleSettings;
  calendar: BusinessCalendar;
  metrics: ConversationMetrics;
}

/** Advances every due conversation to `now`. Returns how many it changed, or null when another replica holds the lock. */
export async function advanceDueConversations(context: TimersContext, now = new Date()): Promise<number | null> {
  let total = 0;
  for (;;) {
    const result = await context.database.transaction(async (tx) => {
      const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCKS.conversationTimers]);
      if (!rows[0]?.locked) return null;
      const due = await loadDueConversations(
        tx,
        now,
        context.settings.autoResolveAfterMs,
        context.settings.fcrWindowMs,
        SERVICE_WINDOW_MS,
        BATCH,
      );
      const facts: Fact[] = [];
      const changed = due.filter((c) => advance(c, now, context.settings, facts));
      await saveConversations(tx, changed);
      await recordHandling(tx, facts);
      return { seen: due.length, changed: changed.length, facts };
    });
    if (result === null) return total === 0 ? null : total;
    context.metrics.observe(result.facts, context.calendar);
    total += result.changed;
    if (result.seen < BATCH) return total;
  }
}
