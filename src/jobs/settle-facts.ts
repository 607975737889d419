/**
 * Counts the facts that have stood unchanged for SETTLE_AFTER (see conversations/counting.ts).
 * Runs often, and before each scrape, so counters lag the timeline by SETTLE_AFTER and little
 * more. Rows another transaction holds are left for the next run; whichever replica claims a
 * fact counts it, once.
 */
import { type StoredFacts, settle } from '../conversations/counting.ts';
import type { Counting } from '../metrics/counting.ts';
import { lockSettling, saveSettled } from '../storage/conversation-store.ts';
import type { Database } from '../storage/database.ts';

const BATCH = 500;
const MAX_BATCHES = 20;

export interface SettleContext {
  database: Database;
  settleMs: number;
  counting: Counting;
}

/** Counts what has settled by `now`; returns how many facts it counted. */
export async function settleDueFacts(context: SettleContext, now = new Date()): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const { seen, counted } = await context.database.transaction(async (tx) => {
      const rows = await lockSettling(tx, now, BATCH);
      const counted: { fact: StoredFacts[string]['v']; phoneNumberId: string }[] = [];
      const saved = rows.map((row) => {
        const settled = settle((row.facts ?? {}) as StoredFacts, now.getTime(), context.settleMs);
        for (const [, fact] of settled.count) counted.push({ fact, phoneNumberId: row.phoneNumberId });
        return { id: row.id, facts: settled.facts, settleAt: settled.settleAt === null ? null : new Date(settled.settleAt) };
      });
      await saveSettled(tx, saved);
      return { seen: rows.length, counted };
    });
    context.counting.countFacts(counted);
    total += counted.length;
    if (seen < BATCH) break;
  }
  return total;
}
