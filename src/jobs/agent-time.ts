/**
 * Keeps the agent time totals (src/storage/agent-time-store.ts): folds presence and handling
 * history older than the watermark (now − 1 h) into per-agent totals, so that a scrape computes
 * only the last hour or so. Each batch, in one transaction under the job's advisory lock (one
 * replica at a time):
 *   1. consumes logged corrections of the past (migration 030's triggers) and starts the agents
 *      whose totals they reach into again from -infinity,
 *   2. adds agents that have no totals (after an upgrade, a restore, or rows another client
 *      inserted),
 *   3. folds every agent not folded yet up to the watermark — so a scrape never sees a reset
 *      agent's whole history as its window — and moves the others forward.
 * A batch recomputes as many agents' histories as fit in about BATCH_TARGET_MS (at most
 * BATCH_AT_MOST), so every statement stays short; a run that recomputes whole histories pauses
 * between batches twice as long as each took, and starts each batch only where it meets none of
 * this process's scrapes (src/metrics/scrape-rhythm.ts).
 */
import { addMissingAgents, advanceTotals, resetChangedAgents, watermark } from '../storage/agent-time-store.ts';
import type { Database } from '../storage/database.ts';
import { LOCKS } from '../storage/locks.ts';

/** Agents recomputed from their whole history per transaction: at most this many, */
const BATCH_AT_MOST = 20;
/** and as many as fit in this time, judged by the previous batch (a year of 500 agents: about 20; ten years: 2). */
const BATCH_TARGET_MS = 100;
/** The first batch of a run, before its cost per agent is known. */
const FIRST_BATCH = 4;
/** The longest a batch waits for a time between scrapes (scrapes back to back must not starve the job). */
const QUIET_WAIT_AT_MOST_MS = 5_000;
/** A run stops after this many batches; the next run goes on. */
const MAX_BATCHES = 500;
/** Totals move forward once they are this far behind the watermark (fewer, larger steps). */
const STEP_MS = 5 * 60_000;
/** Agents moved forward per transaction. */
const ADVANCE_BATCH = 200;
/** The longest pause between two batches of a catch-up. */
const PAUSE_AT_MOST_MS = 2_000;

export interface AgentTimeContext {
  database: Database;
  /** Resolves when a batch expected to take this long would meet none of this process's scrapes. */
  quietFor?: (expectedMs: number, atMostMs: number) => Promise<void>;
}

export interface AgentTimeRun {
  /** Agents whose totals a correction of the past reset (and that were recomputed). */
  recomputed: number;
  /** Agents that had no totals and got them. */
  added: number;
  /** Agents whose totals moved forward. */
  advanced: number;
}

/** Brings the totals up to the watermark. Returns null when another replica holds the job's lock. */
export async function maintainAgentTime(context: AgentTimeContext): Promise<AgentTimeRun | null> {
  const run: AgentTimeRun = { recomputed: 0, added: 0, advanced: 0 };
  let limit = FIRST_BATCH;
  let expectedMs = BATCH_TARGET_MS;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    await context.quietFor?.(expectedMs, QUIET_WAIT_AT_MOST_MS);
    const started = performance.now();
    const result = await context.database.transaction(async (tx) => {
      const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCKS.agentTime]);
      if (!rows[0]?.locked) return null;
      const to = await watermark(tx);
      const changed = await resetChangedAgents(tx, limit);
      const added = await addMissingAgents(tx, Math.max(0, limit - changed.reset));
      await advanceTotals(tx, to, { unfolded: true });
      const advanced = await advanceTotals(tx, to, { stepMs: STEP_MS, limit: ADVANCE_BATCH });
      return { changed, added, advanced };
    });
    if (result === null) return batch === 0 ? null : run;
    const tookMs = performance.now() - started;
    const recomputed = result.changed.reset + result.added;
    run.recomputed += result.changed.reset;
    run.added += result.added;
    run.advanced += result.advanced;
    const more = result.changed.consumed === limit || result.added === limit - result.changed.reset || result.advanced === ADVANCE_BATCH;
    if (!more) break;
    if (recomputed > 0) {
      const perAgentMs = tookMs / recomputed;
      limit = Math.max(1, Math.min(BATCH_AT_MOST, 2 * limit, Math.floor(BATCH_TARGET_MS / perAgentMs)));
      expectedMs = perAgentMs * limit;
      // Catching up (after an upgrade or a bulk load) recomputes whole histories: pause twice as
      // long as the batch took, so that scrapes and webhooks keep two thirds of the database's time.
      await new Promise((resolve) => setTimeout(resolve, Math.min(PAUSE_AT_MOST_MS, 2 * tookMs)));
    } else expectedMs = tookMs;
  }
  return run;
}
