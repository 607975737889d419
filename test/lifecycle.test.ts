/** The conversation lifecycle as pure logic: timelines with known answers, no database. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { reconcile, settle } from '../src/conversations/counting.ts';
import { foldThread, matchConversations, openState } from '../src/conversations/lifecycle.ts';
import type { FactPayload, Facts, LifecycleInput } from '../src/domain/conversation.ts';

const T0 = Date.parse('2026-11-02T09:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const H = 3600;
const settings = { autoResolveAfterMs: 24 * H * 1000, fcrWindowMs: 72 * H * 1000 };
const thread = { phoneNumberId: 'pn1', customer: '4915100000001' };
/** Far enough after every timeline below that time has decided everything, unless a test says otherwise. */
const LATER = at(30 * 24 * H);

let seq = 0;
const key = (prefix: string) => `${prefix}${++seq}`;
const customer = (s: number, fields: { category?: string; sentiment?: 'negative' | 'neutral' | 'positive' } = {}): LifecycleInput => ({
  kind: 'customer_message',
  key: key('c'),
  at: at(s),
  category: fields.category ?? null,
  sentiment: fields.sentiment ?? null,
});
const agentSays = (s: number, agent: string | null = 'alice', messageId: string | null = null): LifecycleInput => ({
  kind: 'business_message',
  key: messageId ?? key('a'),
  at: at(s),
  responder: 'agent',
  agent,
  messageId,
});
const botSays = (s: number): LifecycleInput => ({
  kind: 'business_message',
  key: key('b'),
  at: at(s),
  responder: 'bot',
  agent: null,
  messageId: null,
});
const resolved = (s: number, by: 'agent' | 'bot' = 'agent', agent: string | null = null): LifecycleInput => ({
  kind: 'resolved',
  key: key('r'),
  at: at(s),
  by,
  agent,
});
const assigned = (s: number, agent: string): LifecycleInput => ({ kind: 'assigned', key: key('as'), at: at(s), agent });
const handover = (s: number, agent: string | null = null): LifecycleInput => ({ kind: 'handover', key: key('h'), at: at(s), agent });
const categorized = (s: number, category: string): LifecycleInput => ({ kind: 'categorized', key: key('k'), at: at(s), category });

function fold(inputs: LifecycleInput[], now = LATER) {
  const result = foldThread(thread, inputs, now, settings);
  const conversations = result.conversations;
  const facts = conversations.flatMap((c) => Object.entries(c.facts));
  const latest = conversations.at(-1)!;
  return { conversations, facts, latest: latest?.conversation, latestFacts: latest?.facts ?? {}, applied: result.applied };
}

/** Fact keys without the per-message ones (checked on their own). */
const keys = (facts: [string, FactPayload][]) => facts.map(([k]) => k).filter((k) => !k.startsWith('m:'));
const secondsOf = (f: FactPayload | undefined) => (f && 'from' in f ? (f.to - f.from) / 1000 : undefined);

describe('conversation lifecycle', () => {
  it('opens on the first customer message, times the first response and the resolution', () => {
    const { latest, latestFacts } = fold([customer(0), customer(20), agentSays(90), customer(200), agentSays(260), resolved(600)], at(700));
    assert.deepEqual(
      Object.keys(latestFacts).filter((k) => !k.startsWith('m:') && !k.startsWith('reply:')),
      ['opened', 'first_response', 'resolved:0'],
    );
    assert.equal(secondsOf(latestFacts.first_response), 90);
    assert.deepEqual(
      Object.entries(latestFacts)
        .filter(([k]) => k.startsWith('reply:'))
        .map(([, f]) => secondsOf(f)),
      [90, 60],
    );
    assert.equal(secondsOf(latestFacts['resolved:0']), 600);
    assert.equal(latest!.status, 'resolved');
    assert.equal(latest!.resolvedAgent, 'alice');
    assert.equal(latest!.fcr, 'pending');
    assert.equal(latest!.nextDeadlineAt!.getTime(), at(600 + 72 * H).getTime(), 'the FCR window closes next');
  });

  it('moves through unassigned, bot, assigned and waiting_customer', () => {
    const steps = [customer(0), botSays(5), customer(30), handover(40), assigned(50, 'bob'), agentSays(70, 'bob')];
    const states = steps.map((_, i) => openState(fold(steps.slice(0, i + 1), at(80)).latest!));
    assert.deepEqual(states, ['unassigned', 'waiting_customer', 'bot', 'assigned', 'assigned', 'waiting_customer']);
  });

  it('counts the bot engaging, a handover, and the bot as first responder', () => {
    const { latestFacts, latest } = fold([customer(0), botSays(3), customer(10), agentSays(100, 'carol'), resolved(300)], at(400));
    assert.deepEqual(
      keys(Object.entries(latestFacts)).filter((k) => !k.startsWith('reply:')),
      ['opened', 'first_response', 'bot_engaged', 'handover', 'resolved:0'],
    );
    assert.equal((latestFacts.first_response as { responder: string }).responder, 'bot');
    assert.equal(latest!.resolvedAgent, 'carol');
  });

  it('gives each conversation exactly one first response, the earliest answer', () => {
    const { latest, facts } = fold([customer(0), agentSays(46, null), agentSays(45, 'alice', 'wamid.A')]);
    assert.equal(facts.filter(([, f]) => f.kind === 'first_response').length, 1);
    assert.equal(latest!.firstResponseAt!.getTime(), at(45).getTime());
    assert.equal(latest!.firstResponseMessageId, 'wamid.A');
  });

  it('reopens within the FCR window (not resolved on first contact), opens anew from the moment it closes', () => {
    const reopened = fold([customer(0), agentSays(60), resolved(120), customer(120 + 71 * H)], at(120 + 71 * H));
    assert.deepEqual(
      keys(reopened.facts).filter((k) => !k.startsWith('reply:')),
      ['opened', 'first_response', 'resolved:0', 'reopened:1', 'fcr'],
    );
    assert.deepEqual(reopened.latestFacts.fcr, { kind: 'first_contact_resolution', result: 'reopened', category: 'unknown' });
    assert.equal(reopened.latest!.status, 'open');
    assert.equal(reopened.latest!.reopenCount, 1);
    assert.equal(reopened.latest!.cycleStartedAt.getTime(), at(120 + 71 * H).getTime());

    // Exactly FCR_WINDOW after the resolution the window has closed: resolved on first contact, and a new conversation.
    const fresh = fold([customer(0), agentSays(60), resolved(120), customer(120 + 72 * H)], at(120 + 72 * H));
    assert.equal(fresh.conversations.length, 2);
    assert.deepEqual(
      fresh.facts.filter(([, f]) => f.kind === 'first_contact_resolution').map(([, f]) => (f as { result: string }).result),
      ['resolved'],
    );
    assert.equal(fresh.latest!.reopenCount, 0);
    assert.equal(fresh.latest!.openedAt.getTime(), at(120 + 72 * H).getTime());
  });

  it('times a resolution after a reopening from the reopening', () => {
    const { latestFacts } = fold([customer(0), agentSays(60), resolved(100), customer(1000), agentSays(1030), resolved(1600)], at(1700));
    assert.deepEqual([secondsOf(latestFacts['resolved:0']), secondsOf(latestFacts['resolved:1'])], [100, 600]);
    assert.equal(secondsOf(latestFacts.first_response), 60);
  });

  it('auto-resolves after inactivity, at last activity + AUTO_RESOLVE_AFTER, and the window expires unanswered first', () => {
    const waiting = fold([customer(0), customer(600)], at(600 + 23 * H));
    assert.equal(waiting.latest!.status, 'open');
    assert.equal(waiting.latest!.nextDeadlineAt!.getTime(), at(600 + 24 * H).getTime(), 'the service window closes next');
    const { latestFacts, latest } = fold([customer(0), customer(600)], at(600 + 25 * H));
    assert.deepEqual(keys(Object.entries(latestFacts)), ['opened', 'window:0.1', 'resolved:0']);
    assert.deepEqual(latestFacts['resolved:0'], {
      kind: 'resolved',
      by: 'auto',
      category: 'unknown',
      from: at(0).getTime(),
      to: at(600 + 24 * H).getTime(),
    });
    // Nobody answered: no first-contact-resolution verdict, ever — abandoned once the window closes.
    const much = fold([customer(0), customer(600)], at(600 + 24 * H + 72 * H));
    assert.equal(latest!.fcr, 'unanswered');
    assert.equal(much.latest!.fcr, 'abandoned');
    assert.equal(much.latestFacts.fcr, undefined);
  });

  it('decides FCR 72 h after an answered conversation resolved automatically', () => {
    const { latestFacts } = fold([customer(0), agentSays(60)], at(60 + 24 * H + 72 * H));
    assert.equal((latestFacts['resolved:0'] as { by: string }).by, 'auto');
    assert.deepEqual(latestFacts.fcr, { kind: 'first_contact_resolution', result: 'resolved', category: 'unknown' });
  });

  it('ignores events for a thread without an open conversation', () => {
    const none = fold([agentSays(10), resolved(20), assigned(5, 'x')]);
    assert.deepEqual(none.conversations, []);
    assert.equal(none.applied.size, 0);
    const early = fold([customer(100), agentSays(50)]);
    assert.equal(early.latestFacts.first_response, undefined, 'an answer before the conversation opened answers nothing');
  });

  it('records handling intervals as the assigned agent changes', () => {
    const { conversations } = fold([customer(0), assigned(10, 'alice'), assigned(50, 'bob'), resolved(90)]);
    assert.deepEqual(
      conversations[0]!.handling.map((h) => [h.agent, (h.from.getTime() - T0) / 1000, (h.to!.getTime() - T0) / 1000]),
      [
        ['alice', 10, 50],
        ['bob', 50, 90],
      ],
    );
  });

  it('takes the category from the first message that has one, and a categorized event over it; every fact carries the final one', () => {
    const { latest, latestFacts } = fold([customer(0), customer(10, { category: 'refund' }), customer(20, { category: 'billing' })]);
    assert.equal(latest!.category, 'refund', '"Hallo" says nothing; the next message categorises');
    assert.ok(Object.values(latestFacts).every((f) => f.category === 'refund'));
    const overridden = fold([customer(0, { category: 'refund' }), categorized(30, 'billing'), customer(40, { category: 'delivery' })]);
    assert.equal(overridden.latest!.category, 'billing');
  });

  it('counts the bot handing over only when the bot had answered (containment)', () => {
    const never = fold([customer(0), handover(10, 'alice'), agentSays(20, 'alice')]);
    assert.equal(never.latestFacts.handover, undefined);
    const engaged = fold([customer(0), botSays(5), handover(10, 'alice')]);
    assert.deepEqual(engaged.latestFacts.handover, { kind: 'handover', category: 'unknown' });
  });

  it('puts a conversation answered from the Business app (agent unknown) in human hands', () => {
    const { latest } = fold([customer(0), agentSays(30, null), customer(60)], at(70));
    assert.equal(latest!.handler, 'agent');
    assert.equal(openState(latest!), 'assigned');
  });
});

/**
 * The situations the timeline issue observed (inputs listed in arrival order). The fold sorts by
 * time, so each is also checked against every arrival order: the outcome must not change.
 */
describe('the timeline, whatever order the inputs arrive in', () => {
  const everyOrder = (inputs: LifecycleInput[], now: Date, check: (r: ReturnType<typeof fold>) => void) => {
    for (const order of permutations(inputs)) check(fold(order, now));
  };

  it('1: a late answer dated between two customer messages leaves the later one waiting', () => {
    const answer = agentSays(60, 'alice');
    everyOrder([customer(0), customer(120), answer, agentSays(300, 'alice')], at(310), ({ latest, latestFacts }) => {
      assert.equal(secondsOf(latestFacts.first_response), 60);
      const replies = Object.entries(latestFacts).filter(([k]) => k.startsWith('reply:'));
      assert.deepEqual(replies.map(([, f]) => secondsOf(f)).sort(), [180, 60].sort());
      assert.equal(latest!.waitingSince, null);
    });
    const { latest } = fold([customer(0), customer(120), answer], at(200));
    assert.equal(latest!.waitingSince!.getTime(), at(120).getTime(), 'still waiting since 120');
  });

  it('2: a resolution dated before the customer wrote again reopens', () => {
    everyOrder([customer(0), agentSays(60), customer(100), resolved(90)], at(110), ({ latest, latestFacts }) => {
      assert.equal(latest!.status, 'open');
      assert.equal(latest!.waitingSince!.getTime(), at(100).getTime());
      assert.ok(latestFacts['reopened:1']);
      assert.deepEqual(latestFacts.fcr, { kind: 'first_contact_resolution', result: 'reopened', category: 'unknown' });
    });
  });

  it('3: the first response is the earliest answer, from the earliest customer message', () => {
    everyOrder([customer(0), agentSays(90), agentSays(40)], at(100), ({ latestFacts }) =>
      assert.equal(secondsOf(latestFacts.first_response), 40),
    );
    everyOrder([customer(60), customer(0), agentSays(300)], at(310), ({ latestFacts }) =>
      assert.equal(secondsOf(latestFacts.first_response), 300),
    );
    everyOrder([customer(0, { sentiment: 'negative' }), customer(-30, { sentiment: 'neutral' })], at(10), ({ latest }) =>
      assert.equal(latest!.sentiment, 'negative', 'the latest message by time sets the sentiment'),
    );
  });

  it('5: a late message undoes an auto-resolution, and the wait restarts at the first unanswered message', () => {
    const inputs = [customer(0), agentSays(60), customer(100), customer(100 + 23 * H)];
    everyOrder(inputs, at(100 + 23 * H + 60), ({ latest, latestFacts }) => {
      assert.equal(latest!.status, 'open');
      assert.equal(latest!.waitingSince!.getTime(), at(100).getTime());
      assert.equal(latestFacts['resolved:0'], undefined);
    });
  });

  it('6: an unanswered conversation that times out and comes back is no first-contact resolution', () => {
    const { latestFacts } = fold([customer(0), customer(25 * H), agentSays(25 * H + 60), resolved(25 * H + 120)], at(100 * H));
    assert.deepEqual(latestFacts.fcr, { kind: 'first_contact_resolution', result: 'reopened', category: 'unknown' });
  });

  it('8: a handover when the bot never answered counts no bot handover', () => {
    everyOrder([customer(0), handover(10), assigned(20, 'bob')], at(30), ({ latestFacts }) =>
      assert.equal(latestFacts.handover, undefined),
    );
  });

  it('gives the same conversations, facts and handling for every arrival order of a random timeline', () => {
    fc.assert(
      fc.property(timeline(), fc.integer({ min: 0, max: 1_000 }), (inputs, seed) => {
        const expected = fold(inputs, at(200 * H));
        const shuffled = shuffle(inputs, seed);
        const actual = fold(shuffled, at(200 * H));
        assert.deepEqual(actual.conversations, expected.conversations);
      }),
      { numRuns: 300 },
    );
  });
});

describe('counting facts', () => {
  const opened: FactPayload = { kind: 'opened', category: 'unknown' };
  const frt = (to: number): FactPayload => ({ kind: 'first_response', responder: 'agent', category: 'unknown', from: 0, to });

  it('counts a fact once it has stood unchanged for SETTLE_AFTER', () => {
    const first = reconcile({}, { opened, first_response: frt(200) }, 1_000);
    assert.deepEqual(settle(first.facts, 1_500, 1_000).count, []);
    // The earlier answer arrives half a second later: the first response changes and waits again.
    const second = reconcile(first.facts, { opened, first_response: frt(60) }, 1_500);
    assert.deepEqual(second.corrected, []);
    const at2000 = settle(second.facts, 2_000, 1_000);
    assert.deepEqual(at2000.count, [['opened', opened]]);
    assert.equal(at2000.settleAt, 2_500);
    assert.deepEqual(settle(at2000.facts, 2_500, 1_000).count, [['first_response', frt(60)]]);
  });

  it('never counts a fact twice, and reports a counted fact that changes or vanishes as a correction', () => {
    const counted = settle(reconcile({}, { opened, first_response: frt(200) }, 0).facts, 10, 0).facts;
    const changed = reconcile(counted, { opened, first_response: frt(60) }, 20);
    assert.deepEqual(changed.corrected, ['first_response']);
    assert.deepEqual(settle(changed.facts, 30, 0).count, [], 'counted already');
    const gone = reconcile(changed.facts, {}, 40);
    assert.deepEqual(gone.corrected.sort(), ['first_response', 'opened']);
    const back = reconcile(gone.facts, { opened }, 50);
    assert.deepEqual(settle(back.facts, 60, 0).count, [], 'a fact that comes back was counted before');
    // A later categorisation relabels facts; that is no late input.
    assert.deepEqual(reconcile(back.facts, { opened: { ...opened, category: 'billing' } }, 70).corrected, []);
  });

  it('takes every fact of a conversation stored before facts were kept as counted', () => {
    const legacy = reconcile(null, { opened } as Facts, 0);
    assert.deepEqual(settle(legacy.facts, 0, 0).count, []);
  });

  it('keeps conversation ids across a fold, absorbing or adding conversations where a late input joins or splits them', () => {
    const c = (id: number | null, from: number, to: number | null) => ({
      id,
      openedAt: at(from),
      status: (to === null ? 'open' : 'resolved') as 'open' | 'resolved',
      resolvedAt: to === null ? null : at(to),
    });
    assert.deepEqual(matchConversations([c(1, 0, 100), c(2, 1000, null)], [c(null, -50, 100), c(null, 1000, null)]), [1, 2]);
    assert.deepEqual(matchConversations([c(1, 0, 100), c(2, 1000, null)], [c(null, 0, null)]), [1], 'joined: 2 is absorbed');
    assert.deepEqual(matchConversations([c(1, 0, null)], [c(null, 0, 100), c(null, 1000, null)]), [1, null], 'split: the second is new');
  });
});

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest];
  }
}

function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed + 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Random timelines over a few days: messages, answers (agent or bot), assignment, handover, categorisation, resolution. */
function timeline() {
  const time = fc.integer({ min: 0, max: 120 * H });
  const input = fc.oneof(
    fc
      .record({ s: time, sentiment: fc.constantFrom(null, 'negative', 'neutral', 'positive') })
      .map(({ s, sentiment }) => ({ ...customer(s), sentiment })),
    fc.record({ s: time, agent: fc.constantFrom('alice', 'bob', null) }).map(({ s, agent }) => agentSays(s, agent)),
    time.map(botSays),
    fc.record({ s: time, agent: fc.constantFrom('alice', 'bob') }).map(({ s, agent }) => assigned(s, agent)),
    time.map((s) => handover(s)),
    fc.record({ s: time, c: fc.constantFrom('billing', 'refund') }).map(({ s, c }) => categorized(s, c)),
    fc.record({ s: time, by: fc.constantFrom('agent' as const, 'bot' as const) }).map(({ s, by }) => resolved(s, by)),
  ) as fc.Arbitrary<LifecycleInput>;
  return fc.array(input, { minLength: 1, maxLength: 14 });
}

describe('agent time counters', () => {
  it('absorb small decreases and pass large corrections through', async () => {
    const { monotonic, ABSORBED_DECREASE_SECONDS } = await import('../src/metrics/agent-gauges.ts');
    assert.equal(monotonic(undefined, 100), 100);
    assert.equal(monotonic(100, 130), 130);
    assert.equal(monotonic(130, 120), 130, 'a close reported 10 s late does not make the counter go down');
    assert.equal(monotonic(10_000, 10_000 - ABSORBED_DECREASE_SECONDS - 1), 10_000 - ABSORBED_DECREASE_SECONDS - 1);
  });
});
