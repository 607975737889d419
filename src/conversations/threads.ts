/**
 * Runs the pure lifecycle over the threads a transaction touches: lock them, load their latest
 * conversations, apply the inputs in time order, save the changes and the handling intervals.
 * Returns the facts newly established, for the caller to observe after the commit.
 */
import type { Queryable } from '../storage/database.ts';
import { loadLatestConversations, lockThreads, rememberAgents, recordHandling, saveConversations, threadId, type ThreadKey } from '../storage/conversation-store.ts';
import { applyToThread, type Conversation, type Fact, type LifecycleInput, type LifecycleSettings } from './lifecycle.ts';

export interface ThreadInput {
  thread: ThreadKey;
  input: LifecycleInput;
}

export interface LifecycleOutcome {
  facts: Fact[];
  /** Per input (same order as given), whether it changed a conversation. */
  applied: boolean[];
}

export async function applyInputs(tx: Queryable, inputs: ThreadInput[], settings: LifecycleSettings): Promise<LifecycleOutcome> {
  const applied = inputs.map(() => false);
  if (inputs.length === 0) return { facts: [], applied };
  const byThread = new Map<string, { thread: ThreadKey; items: { input: LifecycleInput; index: number }[] }>();
  inputs.forEach(({ thread, input }, index) => {
    const id = threadId(thread);
    const group = byThread.get(id) ?? { thread, items: [] };
    group.items.push({ input, index });
    byThread.set(id, group);
  });
  const threads = [...byThread.values()].map((g) => g.thread);
  await lockThreads(tx, threads);
  const latest = await loadLatestConversations(tx, threads);

  const facts: Fact[] = [];
  const changed: Conversation[] = [];
  for (const [id, group] of byThread) {
    const result = applyToThread(latest.get(id) ?? null, group.thread, group.items.map((i) => i.input), settings);
    facts.push(...result.facts);
    changed.push(...result.changed);
    result.applied.forEach((ok, i) => (applied[group.items[i]!.index] = ok));
  }
  await saveConversations(tx, changed);
  await recordHandling(tx, facts);
  await rememberAgents(tx, changed.flatMap((c) => (c.assignedAgent ? [c.assignedAgent] : [])));
  return { facts, applied };
}
