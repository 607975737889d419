/**
 * The one place that counts what a committed transaction established: new messages and status
 * updates, the lifecycle facts that settled, corrections by late inputs, and surveys WhatsApp
 * reported undelivered. Writers, the settle job and the timers job all count through it.
 */
import type { BusinessCalendar } from '../config/business-hours.ts';
import type { FoldOutcome } from '../conversations/threads.ts';
import type { FactPayload } from '../domain/conversation.ts';
import { threadId } from '../domain/whatsapp.ts';
import type { StoredMessage, StoredStatus } from '../storage/webhook-store.ts';
import type { ConversationMetrics } from './conversations.ts';
import { factLabel } from './conversations.ts';
import type { IngestMetrics } from './ingest.ts';

export interface CountingDependencies {
  ingest: IngestMetrics;
  conversations: ConversationMetrics;
  /** Counts CSAT surveys WhatsApp reported undelivered (the CSAT loop's own counter). */
  undeliveredSurveys: (count: number) => void;
  calendar: BusinessCalendar;
  /** The `business_number` label of a phone_number_id (its configured short name, else the id). */
  businessNumber: (phoneNumberId: string) => string;
  /** The `agent` label of an agent id (AGENT_LABELS: as given, or a keyed hash); as given when unset. */
  agentLabel?: (agent: string) => string;
}

/** What one write transaction established. */
export interface WriteCounts {
  /** Messages stored for the first time. */
  messages: StoredMessage[];
  statuses: StoredStatus[];
  fold: FoldOutcome;
  /** Per thread id, how many of the write's inputs reached it (each is late if it corrected a counted fact). */
  inputsPerThread: Map<string, number>;
  undeliveredSurveys: number;
  /** Every event of the write's requests, and whether it was stored (the first copy of a new id) or a duplicate. */
  events: { type: string; stored: boolean }[];
}

export class Counting {
  constructor(private readonly deps: CountingDependencies) {}

  countWrite(counts: WriteCounts): void {
    this.deps.ingest.observeStored(counts.messages, counts.statuses);
    for (const e of counts.events) this.deps.ingest.helpdeskEvents.inc({ type: e.type, outcome: e.stored ? 'stored' : 'duplicate' });
    this.countFold(counts.fold, counts.inputsPerThread);
    if (counts.undeliveredSurveys > 0) this.deps.undeliveredSurveys(counts.undeliveredSurveys);
  }

  /** Counts a fold's settled facts and its corrections (`inputsPerThread`: how many inputs each thread received; none for the timers job). */
  countFold(fold: Pick<FoldOutcome, 'counted' | 'corrections'>, inputsPerThread?: Map<string, number>): void {
    this.countFacts(fold.counted);
    for (const { thread, keys } of fold.corrections) {
      for (const key of keys) this.deps.conversations.factCorrections.inc({ fact: factLabel(key) });
      const inputs = inputsPerThread?.get(threadId(thread)) ?? 0;
      if (inputs > 0) this.deps.conversations.lateInputs.inc(inputs);
    }
  }

  countFacts(facts: readonly { fact: FactPayload; phoneNumberId: string }[]): void {
    const { agentLabel } = this.deps;
    for (const { fact, phoneNumberId } of facts) {
      const labelled = fact.kind === 'csat' && fact.agent && agentLabel ? { ...fact, agent: agentLabel(fact.agent) } : fact;
      this.deps.conversations.observe(labelled, this.deps.businessNumber(phoneNumberId), this.deps.calendar);
    }
  }
}
