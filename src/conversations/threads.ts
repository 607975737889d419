/**
 * Runs the pure lifecycle over the threads a transaction touches: lock them, load their latest
 * conversations, apply the inputs in time order, save the changes and the handling intervals.
 * Returns the facts newly established, for the caller to observe after the commit.
 */
import type { Queryable } from '../storage/database.ts';
import {
  loadDeferredInputs,
  loadLatestConversations,
  lockThreads,
  markApplied,
  rememberAgents,
  recordHandling,
  saveConversations,
  threadId,
  type InputSource,
  type ThreadKey,
} from '../storage/conversation-store.ts';
import { applyToThread, type Conversation, type Fact, type LifecycleInput, type LifecycleSettings } from './lifecycle.ts';

export interface ThreadInput {
  thread: ThreadKey;
  input: LifecycleInput;
  /** The stored event or message behind the input, marked applied once it changed a conversation. */
  source?: InputSource;
}

export interface LifecycleOutcome {
  facts: Fact[];
  /** Per input (same order as given; deferred inputs appended after), whether it changed a conversation. */
  applied: boolean[];
}

export async function applyInputs(
  tx: Queryable,
  given: ThreadInput[],
  settings: LifecycleSettings,
  boundCategory: (category: string) => string = (c) => c,
): Promise<LifecycleOutcome> {
  const inputs = [...given];
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

  // Where a customer message may open a conversation, inputs that arrived before it (and had no
  // conversation to apply to then) join this run, in time order.
  const current = {
    events: inputs.flatMap((i) => (i.source?.kind === 'event' ? [i.source.id] : [])),
    wamids: inputs.flatMap((i) => (i.source?.kind === 'message' ? [i.source.wamid] : [])),
  };
  const opening = [...byThread].flatMap(([id, group]) => {
    if (latest.get(id)?.status === 'open') return [];
    const times = group.items.filter((i) => i.input.kind === 'customer_message').map((i) => i.input.at.getTime());
    return times.length ? [{ thread: group.thread, since: new Date(Math.min(...times)) }] : [];
  });
  for (const [id, list] of await loadDeferredInputs(tx, opening, current)) {
    const group = byThread.get(id)!;
    for (const deferred of list) {
      if (deferred.input.kind === 'categorized') deferred.input.category = boundCategory(deferred.input.category);
      group.items.push({ input: deferred.input, index: inputs.length });
      inputs.push(deferred);
      applied.push(false);
    }
  }

  const facts: Fact[] = [];
  const changed: Conversation[] = [];
  for (const [id, group] of byThread) {
    const result = applyToThread(
      latest.get(id) ?? null,
      group.thread,
      group.items.map((i) => i.input),
      settings,
    );
    facts.push(...result.facts);
    changed.push(...result.changed);
    result.applied.forEach((ok, i) => {
      applied[group.items[i]!.index] = ok;
    });
  }
  await saveConversations(tx, changed);
  await recordHandling(tx, facts);
  await markApplied(
    tx,
    inputs.flatMap((i, n) => (applied[n] && i.source ? [i.source] : [])),
  );
  await rememberAgents(
    tx,
    changed.flatMap((c) => (c.assignedAgent ? [c.assignedAgent] : [])),
  );
  return { facts, applied };
}
