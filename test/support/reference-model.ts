/**
 * A small reference model of the helpdesk KPIs, written from the rules in docs/conversations.md
 * and independent of src/conversations: it walks one thread's timeline in time order and adds up
 * the KPIs directly. Tests compare the exporter's /metrics with it.
 *
 * Scope: customer messages, answers (agent, bot, or a person we cannot name), assignment,
 * handover, resolution by agent or bot, categorisation; auto-resolution and the FCR window.
 * Times are whole seconds and distinct within a thread (ties are the exporter's business).
 */
export type ModelInput =
  | { t: number; kind: 'customer' }
  | { t: number; kind: 'answer'; by: 'agent' | 'bot' }
  | { t: number; kind: 'assigned' }
  | { t: number; kind: 'handover' }
  | { t: number; kind: 'resolved'; by: 'agent' | 'bot' }
  | { t: number; kind: 'categorized'; category: string };

export interface ModelKpis {
  opened: number;
  reopened: number;
  resolved: { agent: number; bot: number; auto: number };
  resolutionSeconds: number;
  firstResponses: { agent: number[]; bot: number[] };
  replies: number[];
  fcr: { resolved: number; reopened: number };
  botConversations: number;
  handovers: number;
  customerMessages: number;
  /** Conversations open at the end, and the category each ended with. */
  open: number;
  categories: string[];
}

export function emptyKpis(): ModelKpis {
  return {
    opened: 0,
    reopened: 0,
    resolved: { agent: 0, bot: 0, auto: 0 },
    resolutionSeconds: 0,
    firstResponses: { agent: [], bot: [] },
    replies: [],
    fcr: { resolved: 0, reopened: 0 },
    botConversations: 0,
    handovers: 0,
    customerMessages: 0,
    open: 0,
    categories: [],
  };
}

/** Adds one thread's KPIs, with time decided up to `end` (seconds); `autoResolve` and `fcrWindow` in seconds. */
export function addThread(kpis: ModelKpis, timeline: readonly ModelInput[], end: number, autoResolve: number, fcrWindow: number): void {
  const inputs = [...timeline].sort((a, b) => a.t - b.t);
  // The conversation now: null before the first message.
  let c: {
    opened: number;
    cycle: number;
    open: boolean;
    last: number;
    waitingFrom: number | null;
    answered: boolean;
    resolvedAt: number;
    fcr: 'none' | 'answered' | 'unanswered' | 'done';
    bot: 'never' | 'engaged';
    /** Who handles it: nobody yet, the bot (it answered first), or a person. */
    handler: 'none' | 'bot' | 'human';
    handedOver: boolean;
    category: string;
  } | null = null;

  const finish = () => {
    if (c) kpis.categories.push(c.category);
  };
  const timePasses = (until: number) => {
    if (!c) return;
    if (c.open && c.last + autoResolve <= until) {
      c.open = false;
      c.resolvedAt = c.last + autoResolve;
      kpis.resolved.auto += 1;
      kpis.resolutionSeconds += c.resolvedAt - c.cycle;
      c.waitingFrom = null;
      if (c.fcr === 'none') c.fcr = c.answered ? 'answered' : 'unanswered';
    }
    if (!c.open && c.resolvedAt + fcrWindow <= until && (c.fcr === 'answered' || c.fcr === 'unanswered')) {
      if (c.fcr === 'answered') kpis.fcr.resolved += 1;
      c.fcr = 'done';
    }
  };

  for (const input of inputs) {
    timePasses(input.t);
    if (input.kind === 'customer') {
      kpis.customerMessages += 1;
      if (c?.open) {
        c.waitingFrom ??= input.t;
      } else if (c && input.t - c.resolvedAt < fcrWindow) {
        c.open = true;
        c.cycle = input.t;
        c.waitingFrom = input.t;
        kpis.reopened += 1;
        if (c.fcr === 'answered' || c.fcr === 'unanswered') {
          kpis.fcr.reopened += 1;
          c.fcr = 'done';
        }
      } else {
        finish();
        kpis.opened += 1;
        c = {
          opened: input.t,
          cycle: input.t,
          open: true,
          last: input.t,
          waitingFrom: input.t,
          answered: false,
          resolvedAt: 0,
          fcr: 'none',
          bot: 'never',
          handler: 'none',
          handedOver: false,
          category: 'unknown',
        };
      }
      c.last = Math.max(c.last, input.t);
      continue;
    }
    if (!c?.open) continue;
    switch (input.kind) {
      case 'answer':
        if (!c.answered) {
          c.answered = true;
          kpis.firstResponses[input.by].push(input.t - c.opened);
        }
        if (c.waitingFrom !== null) kpis.replies.push(input.t - c.waitingFrom);
        c.waitingFrom = null;
        c.last = Math.max(c.last, input.t);
        if (input.by === 'bot') {
          if (c.bot === 'never') kpis.botConversations += 1;
          c.bot = 'engaged';
          if (c.handler === 'none') c.handler = 'bot';
        } else {
          humanTakesOver(c);
        }
        break;
      case 'assigned':
      case 'handover':
        humanTakesOver(c);
        break;
      case 'categorized':
        c.category = input.category;
        break;
      case 'resolved':
        c.open = false;
        c.resolvedAt = input.t;
        kpis.resolved[input.by] += 1;
        kpis.resolutionSeconds += input.t - c.cycle;
        c.waitingFrom = null;
        if (c.fcr === 'none') c.fcr = c.answered ? 'answered' : 'unanswered';
        break;
    }
  }
  timePasses(end);
  if (c?.open) kpis.open += 1;
  finish();

  function humanTakesOver(conversation: NonNullable<typeof c>) {
    if (conversation.handler === 'bot' && !conversation.handedOver) {
      conversation.handedOver = true;
      kpis.handovers += 1;
    }
    conversation.handler = 'human';
  }
}
