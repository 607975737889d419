/** The conversation lifecycle as pure logic: timelines with known answers, no database. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advance, applyToThread, openState, type Conversation, type Fact, type LifecycleInput } from '../src/conversations/lifecycle.ts';

const T0 = Date.parse('2026-11-02T09:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const H = 3600;
const settings = { autoResolveAfterMs: 24 * H * 1000, fcrWindowMs: 72 * H * 1000 };
const thread = { phoneNumberId: 'pn1', customer: '4915100000001' };

const customer = (s: number): LifecycleInput => ({ kind: 'customer_message', at: at(s) });
const agentSays = (s: number, agent: string | null = 'alice', wamid: string | null = null): LifecycleInput => ({
  kind: 'business_message',
  at: at(s),
  responder: 'agent',
  agent,
  wamid,
});
const botSays = (s: number): LifecycleInput => ({ kind: 'business_message', at: at(s), responder: 'bot', agent: null, wamid: null });
const resolved = (s: number, by: 'agent' | 'bot' = 'agent', agent: string | null = null): LifecycleInput => ({
  kind: 'resolved',
  at: at(s),
  by,
  agent,
});

/** Runs inputs one request at a time, as storage would, carrying the latest conversation along. */
function run(batches: LifecycleInput[][], start: Conversation | null = null) {
  let latest = start;
  const facts: Fact[] = [];
  for (const inputs of batches) {
    const result = applyToThread(latest, thread, inputs, settings);
    facts.push(...result.facts);
    latest = result.changed.at(-1) ?? latest;
  }
  return { latest: latest!, facts };
}

const seconds = (f: Fact) => ('from' in f ? (f.to.getTime() - f.from.getTime()) / 1000 : undefined);
/** Fact kinds in order, without the per-message count (checked on its own below). */
const kinds = (facts: Fact[]) => facts.filter((f) => f.kind !== 'customer_message').map((f) => f.kind);

describe('conversation lifecycle', () => {
  it('opens on the first customer message, times the first response and the resolution', () => {
    const { latest, facts } = run([[customer(0)], [customer(20)], [agentSays(90)], [customer(200)], [agentSays(260)], [resolved(600)]]);
    assert.deepEqual(kinds(facts), ['opened', 'first_response', 'reply', 'handling_started', 'reply', 'resolved', 'handling_ended']);
    const first = facts.find((f) => f.kind === 'first_response')!;
    assert.equal(seconds(first), 90);
    assert.deepEqual(facts.filter((f) => f.kind === 'reply').map(seconds), [90, 60]);
    assert.equal(seconds(facts.find((f) => f.kind === 'resolved')!), 600);
    assert.equal(latest.status, 'resolved');
    assert.equal(latest.resolvedAgent, 'alice');
    assert.equal(latest.fcr, 'pending');
  });

  it('moves through unassigned, bot, assigned and waiting_customer', () => {
    const states: string[] = [];
    let latest: Conversation | null = null;
    for (const input of [
      customer(0),
      botSays(5),
      customer(30),
      { kind: 'handover', at: at(40), agent: null } as LifecycleInput,
      { kind: 'assigned', at: at(50), agent: 'bob' } as LifecycleInput,
      agentSays(70, 'bob'),
    ]) {
      latest = applyToThread(latest, thread, [input], settings).changed.at(-1) ?? latest;
      states.push(openState(latest!));
    }
    assert.deepEqual(states, ['unassigned', 'waiting_customer', 'bot', 'unassigned', 'assigned', 'waiting_customer']);
  });

  it('counts the bot engaging, a handover, and the bot as first responder', () => {
    const { facts, latest } = run([[customer(0)], [botSays(3)], [customer(10)], [agentSays(100, 'carol')], [resolved(300)]]);
    assert.deepEqual(
      kinds(facts).filter((k) => !k.startsWith('handling')),
      ['opened', 'first_response', 'reply', 'bot_engaged', 'reply', 'handover', 'resolved'],
    );
    assert.equal((facts.find((f) => f.kind === 'first_response') as { responder: string }).responder, 'bot');
    assert.equal(latest.resolvedAgent, 'carol');
  });

  it('gives each conversation exactly one first response, the earliest answer', () => {
    // Two sources report answers; the first-arriving earlier one sets it, later ones are replies or follow-ups.
    const { facts, latest } = run([[customer(0)], [agentSays(45, 'alice', 'wamid.A'), agentSays(46, null, null)]]);
    assert.equal(facts.filter((f) => f.kind === 'first_response').length, 1);
    assert.equal(latest.firstResponseAt!.getTime(), at(45).getTime());
    assert.equal(latest.firstResponseWamid, 'wamid.A');
  });

  it('reopens within the FCR window (not resolved on first contact), opens anew after it', () => {
    const reopened = run([[customer(0)], [agentSays(60)], [resolved(120)], [customer(120 + 71 * H)]]);
    assert.deepEqual(
      kinds(reopened.facts).filter((k) => !k.startsWith('handling')),
      ['opened', 'first_response', 'reply', 'resolved', 'reopened', 'first_contact_resolution'],
    );
    assert.deepEqual(
      reopened.facts.find((f) => f.kind === 'first_contact_resolution'),
      { kind: 'first_contact_resolution', result: 'reopened', category: 'unknown' },
    );
    assert.equal(reopened.latest.status, 'open');
    assert.equal(reopened.latest.reopenCount, 1);
    assert.equal(reopened.latest.cycleStartedAt.getTime(), at(120 + 71 * H).getTime());

    const fresh = run([[customer(0)], [agentSays(60)], [resolved(120)], [customer(120 + 73 * H)]]);
    const fcr = fresh.facts.filter((f) => f.kind === 'first_contact_resolution');
    assert.deepEqual(
      fcr.map((f) => (f as { result: string }).result),
      ['resolved'],
    );
    assert.equal(fresh.facts.filter((f) => f.kind === 'opened').length, 2);
    assert.equal(fresh.latest.reopenCount, 0);
    assert.equal(fresh.latest.openedAt.getTime(), at(120 + 73 * H).getTime());
  });

  it('times a resolution after a reopening from the reopening', () => {
    const { facts } = run([[customer(0)], [agentSays(60)], [resolved(100)], [customer(1000)], [agentSays(1030)], [resolved(1600)]]);
    assert.deepEqual(facts.filter((f) => f.kind === 'resolved').map(seconds), [100, 600]);
    assert.deepEqual(facts.filter((f) => f.kind === 'first_response').map(seconds), [60]);
  });

  it('auto-resolves after inactivity, at last activity + AUTO_RESOLVE_AFTER, and the window expires unanswered first', () => {
    const start = run([[customer(0)], [customer(600)]]).latest;
    const facts: Fact[] = [];
    assert.equal(advance(start, at(600 + 23 * H), settings, facts), false);
    assert.ok(advance(start, at(600 + 25 * H), settings, facts));
    assert.deepEqual(kinds(facts), ['service_window_expired', 'resolved']);
    const auto = facts[1] as Extract<Fact, { kind: 'resolved' }>;
    assert.equal(auto.by, 'auto');
    assert.equal(auto.to.getTime(), at(600 + 24 * H).getTime());
    assert.equal(seconds(auto), 600 + 24 * H);
    // Nobody answered: an abandoned conversation gets no first-contact-resolution verdict.
    const more: Fact[] = [];
    advance(start, at(600 + 24 * H + 72 * H), settings, more);
    assert.deepEqual(more, []);
    assert.equal(start.fcr, null);
  });

  it('decides FCR 72 h after an answered conversation resolved automatically', () => {
    const { latest } = run([[customer(0)], [agentSays(60)]]);
    const facts: Fact[] = [];
    advance(latest, at(60 + 24 * H), settings, facts);
    advance(latest, at(60 + 24 * H + 72 * H), settings, facts);
    const decisions = facts.filter((f) => !f.kind.startsWith('handling'));
    assert.deepEqual(kinds(decisions), ['resolved', 'first_contact_resolution']);
    assert.equal((decisions[1] as { result: string }).result, 'resolved');
  });

  it('undoes an automatic resolution when a message written before it arrives late', () => {
    const start = run([[customer(0)], [agentSays(60)]]).latest;
    advance(start, at(60 + 25 * H), settings, []);
    assert.equal(start.resolvedBy, 'auto');
    const late = applyToThread(start, thread, [customer(60 + 23 * H)], settings);
    assert.equal(late.changed[0]!.status, 'open');
    assert.equal(late.changed[0]!.waitingSince!.getTime(), at(60 + 23 * H).getTime());
    assert.deepEqual(
      late.facts.filter((f) => f.kind === 'reopened'),
      [],
      'not a reopening: the resolution should not have happened',
    );
  });

  it('resolves a stale conversation before applying a much later message', () => {
    const { facts, latest } = run([[customer(0)], [agentSays(30)], [customer(30 * H)]]);
    assert.deepEqual(
      kinds(facts).filter((k) => !k.startsWith('handling')),
      ['opened', 'first_response', 'reply', 'resolved', 'reopened', 'first_contact_resolution'],
    );
    assert.equal((facts[4 + 1] as { by?: string }).by ?? (facts.find((f) => f.kind === 'resolved') as { by: string }).by, 'auto');
    assert.equal(latest.status, 'open');
  });

  it('ignores events for a thread without an open conversation, and answers that predate the cycle', () => {
    const none = applyToThread(null, thread, [agentSays(10), resolved(20), { kind: 'assigned', at: at(5), agent: 'x' }], settings);
    assert.deepEqual(none.applied, [false, false, false]);
    assert.deepEqual(none.facts, []);
    const { facts } = run([[customer(100)], [agentSays(50)]]);
    assert.equal(facts.filter((f) => f.kind === 'first_response').length, 0);
  });

  it('keeps a late customer message that an answer already covered from waiting', () => {
    const { latest } = run([[customer(0)], [agentSays(60)], [customer(30)]]);
    assert.equal(latest.waitingSince, null);
    assert.equal(openState(latest), 'waiting_customer');
  });

  it('does not reopen for a late message written before the resolution', () => {
    const { facts, latest } = run([[customer(0)], [agentSays(60)], [resolved(120)], [customer(90)]]);
    assert.equal(facts.filter((f) => f.kind === 'reopened').length, 0);
    assert.equal(latest.status, 'resolved');
  });

  it('applies inputs of one batch in time order, whatever order they came in', () => {
    const result = applyToThread(null, thread, [agentSays(60), customer(0)], settings);
    assert.deepEqual(kinds(result.facts), ['opened', 'first_response', 'reply', 'handling_started']);
    assert.deepEqual(result.applied, [true, true]);
  });

  it('records handling intervals as the assigned agent changes', () => {
    const { facts } = run([
      [customer(0)],
      [{ kind: 'assigned', at: at(10), agent: 'alice' }],
      [{ kind: 'assigned', at: at(50), agent: 'bob' }],
      [resolved(90)],
    ]);
    assert.deepEqual(
      facts
        .filter((f) => f.kind.startsWith('handling'))
        .map((f) => [f.kind, (f as { agent: string }).agent, ((f as { at: Date }).at.getTime() - T0) / 1000]),
      [
        ['handling_started', 'alice', 10],
        ['handling_ended', 'alice', 50],
        ['handling_started', 'bob', 50],
        ['handling_ended', 'bob', 90],
      ],
    );
  });

  it('counts every customer message with the conversation category at that moment', () => {
    const { facts } = run([
      [{ kind: 'customer_message', at: at(0), category: 'refund' }],
      [customer(10)],
      [{ kind: 'categorized', at: at(20), category: 'billing' }],
      [customer(30)],
    ]);
    assert.deepEqual(
      facts.filter((f) => f.kind === 'customer_message').map((f) => (f as { category: string }).category),
      ['refund', 'refund', 'billing'],
    );
  });

  it('takes a category from a categorized event for later facts', () => {
    const { facts } = run([[customer(0)], [{ kind: 'categorized', at: at(1), category: 'billing' }], [agentSays(30)], [resolved(60)]]);
    assert.deepEqual(
      facts.filter((f) => 'category' in f && f.kind !== 'customer_message').map((f) => (f as { category: string }).category),
      ['unknown', 'billing', 'billing', 'billing'],
    );
  });
});

describe('agent time counters', () => {
  it('absorb small decreases and pass large corrections through', async () => {
    const { monotonic, ABSORBED_DECREASE_SECONDS } = await import('../src/metrics/agent-gauges.ts');
    assert.equal(monotonic(undefined, 100), 100);
    assert.equal(monotonic(100, 130), 130);
    assert.equal(monotonic(130, 120), 130, 'a close reported 10 s late does not make the counter go down');
    assert.equal(monotonic(10_000, 10_000 - ABSORBED_DECREASE_SECONDS - 1), 10_000 - ABSORBED_DECREASE_SECONDS - 1);
  });
});
