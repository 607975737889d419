/**
 * What time alone decides about conversations: a service window expiring unanswered,
 * auto-resolution after AUTO_RESOLVE_AFTER without messages, and the FCR window closing. Each
 * conversation stores when that happens next; the threads whose moment has come are folded again
 * up to now. One replica runs it at a time (a transaction-scoped advisory lock); the facts it
 * settles are counted after its commit, like everything else.
 */
import { type FoldSettings, foldThreads } from '../conversations/threads.ts';
import type { Counting } from '../metrics/counting.ts';
import { dueThreads } from '../storage/conversation-store.ts';
import type { Database } from '../storage/database.ts';
import { LOCKS } from '../storage/locks.ts';

const BATCH = 500;
/** A run stops after this many batches; the next run goes on. */
const MAX_BATCHES = 20;

export interface TimersContext {
  database: Database;
  fold: FoldSettings;
  counting: Counting;
}

/** Folds every thread with a due conversation up to `now`. Returns how many it folded, or null when another replica holds the lock. */
export async function advanceDueConversations(context: TimersContext, now = new Date()): Promise<number | null> {
  let total = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const result = await context.database.transaction(async (tx) => {
      const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCKS.conversationTimers]);
      if (!rows[0]?.locked) return null;
      const due = await dueThreads(tx, now, BATCH);
      return { seen: due.length, outcome: await foldThreads(tx, due, context.fold, now) };
    });
    if (result === null) return total === 0 ? null : total;
    context.counting.countFold(result.outcome);
    total += result.seen;
    if (result.seen < BATCH) break;
  }
  return total;
}
