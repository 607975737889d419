/**
 * Plans simulated helpdesk traffic as a list of timed actions: customer messages, bot and agent
 * answers (helpdesk events plus the status webhooks of the sends), assignments, handovers,
 * resolutions, agent presence. The plan is a pure function of the options: the same seed and
 * start give the same actions. Only CSAT answers are reactive (they answer the survey the
 * exporter sends), and their score, style and delay are planned here too.
 *
 * Two clocks:
 * - the calendar runs `speed` times faster than real time: the daily and weekly rhythm and the
 *   agents' shifts (speed 60 plays an hour in a minute, a day in 24 minutes);
 * - conversations run `pace` times faster than real time: typing, answering, resolving
 *   (pace 1 keeps response times real, so the dashboards show realistic numbers against the
 *   alert thresholds). The volume follows the conversation clock: `peakPerHour` conversations
 *   per hour of conversation time at the busiest hour of the week.
 * Every timestamp is the real time at which an action is sent (`start` + offset) or, for the
 * few late-delivered messages, a few minutes before: never in the future.
 *
 * A warm-up (`warmupMs`) replays the recent past first: with `start` that far back, its actions
 * are due at once. Its calendar runs at real speed and ends at `calendarStart`, where the
 * compressed calendar begins, so the replay looks like the hour before, not like a day.
 */
import { Random } from './random.ts';
import {
  AGENTS,
  BOT_ROUTINE,
  BREAK_MINUTES,
  CATEGORY_MIX,
  CSAT_ANSWER_SECONDS,
  CSAT_BY_MOOD,
  FAILURE_CODES,
  HOURLY_WEIGHT,
  LANGUAGE_MIX,
  MOOD_MIX,
  P,
  WEEKDAY_WEIGHT,
  type AgentProfile,
} from './scenario.ts';
import {
  AGENT_REPLIES,
  CATEGORIES,
  FOLLOW_UPS,
  GREETINGS,
  NAMES,
  OPENERS,
  PHOTO_CAPTIONS,
  REOPENERS,
  STILL_WAITING,
  THANKS,
  type Category,
  type Language,
  type Mood,
} from './texts.ts';

export interface BusinessNumber {
  phoneNumberId: string;
  displayPhoneNumber: string;
  wabaId: string;
}

export const DEFAULT_BUSINESS: BusinessNumber = {
  phoneNumberId: '106540352242922',
  displayPhoneNumber: '15550783881',
  wabaId: '102290129340398',
};

export interface PlanOptions {
  seed: number;
  /** Real time of offset 0; timestamps are `start` + offset. */
  start: Date;
  /** Calendar seconds per real second (rhythm and shifts). */
  speed: number;
  /** Conversation seconds per real second (delays inside a conversation). Defaults to `speed`. */
  pace?: number;
  /** Conversations per hour of conversation time at the busiest hour of the week. */
  peakPerHour?: number;
  /** Time zone of the rhythm and the shifts. */
  timeZone?: string;
  /** Calendar time at offset `warmupMs` (0 by default; defaults to `start`). */
  calendarStart?: Date;
  /** Real ms at the start of the plan whose calendar runs at real speed, ending at `calendarStart` (default 0). */
  warmupMs?: number;
  business?: BusinessNumber;
}

export type InboundContent =
  | { type: 'text'; text: string }
  | { type: 'image'; caption: string }
  | { type: 'audio' }
  | { type: 'interactive'; reply: 'list_reply' | 'button_reply'; id: string; title: string; contextWamid: string }
  | { type: 'button'; payload: string; text: string; contextWamid: string }
  | { type: 'reaction'; emoji: string; messageWamid: string };

export interface PlannedEvent {
  id: string;
  type: 'agent_message' | 'bot_message' | 'assigned' | 'handover' | 'resolved' | 'categorized' | 'agent_status';
  customer?: string;
  agent?: string;
  message_id?: string;
  by?: 'agent' | 'bot';
  category?: string;
  status?: 'online' | 'away' | 'offline';
}

interface Timed {
  /** Real ms after `start` when the action is sent. */
  at: number;
  /** Real ms after `start` of the action's own timestamp (earlier than `at` for late-delivered messages). */
  stamp: number;
  /** Actions with the same key are sent one after the other, in order. */
  key: string;
}

export type Action = Timed &
  (
    | { kind: 'inbound'; customer: string; name: string; wamid: string; content: InboundContent }
    | {
        kind: 'status';
        customer: string;
        wamid: string;
        status: 'sent' | 'delivered' | 'read' | 'failed';
        callback?: string;
        errorCode?: number;
      }
    | { kind: 'echo'; customer: string; wamid: string; text: string }
    | { kind: 'event'; event: PlannedEvent }
  );

export type CsatStyle = 'button' | 'digit' | 'stars';

export interface CsatPlan {
  answers: boolean;
  score: number;
  style: CsatStyle;
  /** Real ms between the survey and the answer. */
  delayMs: number;
}

export interface ConversationSummary {
  customer: string;
  name: string;
  openedAt: number;
  language: Language;
  category: Category;
  mood: Mood;
  bot: 'resolved' | 'handover' | 'none';
  resolvedBy: 'agent' | 'bot' | 'open';
  agent: string | null;
  lateDelivery: boolean;
  leftWaiting: boolean;
  reopened: boolean;
  csat: CsatPlan | null;
}

const CALENDAR_MINUTE_MS = 60_000;

/** Incremental planner: `planUntil(t)` returns the actions of conversations that start before real offset t. */
export class TrafficPlanner {
  readonly runId: string;
  readonly business: BusinessNumber;
  readonly speed: number;
  readonly pace: number;
  readonly peakPerHour: number;
  readonly timeZone: string;
  readonly conversations: ConversationSummary[] = [];
  /** The planned CSAT answer of each customer's latest conversation. */
  readonly csat = new Map<string, CsatPlan>();
  /** Each customer's latest conversation. */
  readonly byCustomer = new Map<string, ConversationSummary>();

  private readonly arrivals: Random;
  private readonly conversationSeeds: Random;
  private readonly calendarStartMs: number;
  private readonly warmupMs: number;
  private readonly local: Intl.DateTimeFormat;
  private readonly localCache = new Map<number, { dow: number; minute: number; date: string }>();
  private readonly handling = new Map<string, { from: number; to: number }[]>();
  private nextArrival: number;
  /** Index of the next presence grid point to plan (negative inside the warm-up). */
  private presenceIndex: number;
  private readonly presence = new Map<string, 'online' | 'away' | 'offline'>();
  private sequence = 0;

  constructor(private readonly options: PlanOptions) {
    if (!(options.speed > 0)) throw new Error('speed must be positive');
    this.speed = options.speed;
    this.pace = options.pace ?? options.speed;
    if (!(this.pace > 0)) throw new Error('pace must be positive');
    this.peakPerHour = options.peakPerHour ?? 90;
    this.timeZone = options.timeZone ?? 'Europe/Berlin';
    this.business = options.business ?? DEFAULT_BUSINESS;
    this.calendarStartMs = (options.calendarStart ?? options.start).getTime();
    this.warmupMs = Math.max(0, options.warmupMs ?? 0);
    this.presenceIndex = -Math.floor(this.warmupMs / CALENDAR_MINUTE_MS);
    this.runId = `${(options.seed >>> 0).toString(36)}${Math.floor(options.start.getTime() / 1000).toString(36)}`;
    const root = new Random(options.seed);
    this.arrivals = root.fork();
    this.conversationSeeds = root.fork();
    this.local = new Intl.DateTimeFormat('en-CA', {
      timeZone: this.timeZone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    this.nextArrival = this.arrivalGap();
  }

  /** Actions of everything that starts before real offset `until` (ms), sorted by send time. */
  planUntil(until: number): Action[] {
    const actions: Action[] = [];
    const push = (action: Action) => actions.push(action);
    this.planPresence(until, push);
    while (this.nextArrival < until) {
      const at = this.nextArrival;
      this.nextArrival += this.arrivalGap();
      const calendar = this.localTime(at);
      const weight = HOURLY_WEIGHT[Math.floor(calendar.minute / 60)]! * WEEKDAY_WEIGHT[calendar.dow]!;
      if (this.arrivals.next() * MAX_WEIGHT < weight) this.planConversation(at, this.conversationSeeds.fork(), push);
    }
    return actions.sort((a, b) => a.at - b.at);
  }

  /** Candidate arrivals at the peak rate; thinning by the rhythm's weight keeps the right share. */
  private arrivalGap(): number {
    const perRealMs = (this.peakPerHour * this.pace) / 3_600_000;
    return this.arrivals.exponential(1 / perRealMs);
  }

  // ---- calendar and presence --------------------------------------------------------------

  private localTime(offset: number): { dow: number; minute: number; date: string } {
    const calendar = offset < this.warmupMs ? offset - this.warmupMs : (offset - this.warmupMs) * this.speed;
    const calendarMinute = Math.floor((this.calendarStartMs + calendar) / 60_000);
    let cached = this.localCache.get(calendarMinute);
    if (!cached) {
      const parts = Object.fromEntries(this.local.formatToParts(new Date(calendarMinute * 60_000)).map((p) => [p.type, p.value]));
      cached = {
        dow: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!),
        minute: Number(parts.hour) * 60 + Number(parts.minute),
        date: `${parts.year}-${parts.month}-${parts.day}`,
      };
      if (this.localCache.size > 50_000) this.localCache.clear();
      this.localCache.set(calendarMinute, cached);
    }
    return cached;
  }

  /** An agent's presence at a real offset, from the shifts and a break in each shift. */
  presenceAt(agent: AgentProfile, offset: number): 'online' | 'away' | 'offline' {
    const { dow, minute, date } = this.localTime(offset);
    for (const shift of agent.shifts) {
      const from = hhmm(shift.from);
      const to = hhmm(shift.to);
      if (!shift.days.includes(dow) || minute < from || minute >= to) continue;
      const jitter = (hash(`${this.options.seed}:${agent.id}:${date}`) % 61) - 30;
      const breakStart = from + Math.floor((to - from - BREAK_MINUTES) / 2) + jitter;
      return minute >= breakStart && minute < breakStart + BREAK_MINUTES ? 'away' : 'online';
    }
    return 'offline';
  }

  /**
   * The presence grid: the real offsets of calendar-minute boundaries, by integer index (no
   * floating-point drift). Index 0 is the end of the warm-up; before it a calendar minute takes a
   * real minute, after it 60 s / speed.
   */
  private gridPoint(index: number): number {
    return index < 0 ? this.warmupMs + index * CALENDAR_MINUTE_MS : this.warmupMs + (index * CALENDAR_MINUTE_MS) / this.speed;
  }

  /** The first grid point strictly after `t`. */
  private nextGridPoint(t: number): number {
    let index =
      t < this.warmupMs
        ? -(Math.ceil((this.warmupMs - t) / CALENDAR_MINUTE_MS) - 1)
        : Math.floor(((t - this.warmupMs) * this.speed) / CALENDAR_MINUTE_MS) + 1;
    while (this.gridPoint(index) <= t) index += 1;
    return this.gridPoint(index);
  }

  private planPresence(until: number, push: (a: Action) => void): void {
    for (; this.gridPoint(this.presenceIndex) < until; this.presenceIndex++) {
      const at = this.gridPoint(this.presenceIndex);
      for (const agent of AGENTS) {
        const state = this.presenceAt(agent, at);
        if (this.presence.get(agent.id) === state) continue;
        this.presence.set(agent.id, state);
        const id = this.id('presence');
        push({
          at,
          stamp: at,
          key: `agent:${agent.id}`,
          kind: 'event',
          event: { id, type: 'agent_status', agent: agent.id, status: state },
        });
      }
    }
  }

  private isOnline(agent: AgentProfile, at: number): boolean {
    return this.presenceAt(agent, at) === 'online';
  }

  /** When the agent's current online stretch ends (at most a calendar day ahead). */
  private onlineUntil(agent: AgentProfile, at: number): number {
    let t = at;
    for (let i = 0; i < 1440 && this.isOnline(agent, t); i++) t = this.nextGridPoint(t);
    return t;
  }

  /** The online agent with the fewest open conversations at `at`, or the next one to come online. */
  private route(at: number, rng: Random, except?: string): { agent: AgentProfile; at: number } | null {
    let t = at;
    for (let i = 0; i < 1440; i++) {
      const online = AGENTS.filter((a) => a.id !== except && this.isOnline(a, t));
      if (online.length > 0) {
        const loads = online.map((a) => ({ a, load: this.load(a.id, t) + rng.next() * 0.5 }));
        loads.sort((x, y) => x.load - y.load);
        return { agent: loads[0]!.a, at: t };
      }
      t = this.nextGridPoint(t);
    }
    return null;
  }

  private load(agent: string, at: number): number {
    return (this.handling.get(agent) ?? []).filter((h) => h.from <= at && h.to > at).length;
  }

  private recordHandling(agent: string, from: number, to: number): void {
    const list = this.handling.get(agent) ?? [];
    const horizon = from - 6 * 3_600_000;
    this.handling.set(agent, [...list.filter((h) => h.to > horizon), { from, to }]);
  }

  // ---- one conversation --------------------------------------------------------------------

  private id(kind: string): string {
    this.sequence += 1;
    return `${kind}-${this.runId}-${this.sequence.toString(36)}`;
  }

  private wamid(): string {
    this.sequence += 1;
    return `wamid.demo${this.runId}${this.sequence.toString(36).padStart(6, '0')}`;
  }

  private planConversation(t0: number, rng: Random, push: (a: Action) => void): void {
    const ps = (seconds: number) => (seconds * 1000) / this.pace;
    const language = rng.weighted(LANGUAGE_MIX);
    const category = rng.weighted(CATEGORY_MIX);
    const mood = rng.weighted(MOOD_MIX[category]);
    const customer = language === 'de' ? `4915${rng.digits(9)}` : `447${rng.digits(9)}`;
    const name = rng.pick(NAMES);
    const key = `customer:${customer}`;
    const summary: ConversationSummary = {
      customer,
      name,
      openedAt: t0,
      language,
      category,
      mood,
      bot: 'none',
      resolvedBy: 'open',
      agent: null,
      lateDelivery: false,
      leftWaiting: false,
      reopened: false,
      csat: null,
    };
    this.conversations.push(summary);
    this.byCustomer.set(customer, summary);

    const say = (at: number, content: InboundContent, stamp = at) => {
      const wamid = this.wamid();
      push({ at, stamp, key, kind: 'inbound', customer, name, wamid, content });
      return wamid;
    };
    const event = (at: number, e: Omit<PlannedEvent, 'id' | 'customer'>) =>
      push({ at, stamp: at, key, kind: 'event', event: { id: this.id('evt'), customer, ...e } });
    /** An answer sent through the Cloud API (helpdesk event + statuses) or typed in the Business app (echo). */
    const answer = (at: number, by: { bot: true } | { agent: string }): string => {
      const wamid = this.wamid();
      if ('agent' in by && rng.chance(P.echo)) {
        push({ at, stamp: at, key, kind: 'echo', customer, wamid, text: rng.pick(AGENT_REPLIES[language]) });
        return wamid;
      }
      const callback = 'bot' in by ? 'bot' : `agent:${by.agent}`;
      event(at, 'bot' in by ? { type: 'bot_message', message_id: wamid } : { type: 'agent_message', agent: by.agent, message_id: wamid });
      const sent = at + ps(rng.uniform(0.2, 1));
      push({ at: sent, stamp: sent, key, kind: 'status', customer, wamid, status: 'sent', callback });
      if (rng.chance(P.deliveryFailure)) {
        const failed = sent + ps(rng.uniform(1, 4));
        push({
          at: failed,
          stamp: failed,
          key,
          kind: 'status',
          customer,
          wamid,
          status: 'failed',
          callback,
          errorCode: Number(rng.weighted(FAILURE_CODES)),
        });
      } else {
        const delivered = sent + ps(rng.uniform(0.5, 3));
        const read = delivered + ps(rng.uniform(2, 40));
        push({ at: delivered, stamp: delivered, key, kind: 'status', customer, wamid, status: 'delivered', callback });
        push({ at: read, stamp: read, key, kind: 'status', customer, wamid, status: 'read', callback });
      }
      return wamid;
    };

    // The customer writes: sometimes hello first, sometimes minutes late (the phone was offline).
    let t = t0;
    if (rng.chance(P.greeting)) {
      say(t, { type: 'text', text: rng.pick(GREETINGS[language]) });
      t += ps(rng.uniform(4, 20));
    }
    let stamp = t;
    if (rng.chance(P.lateDelivery)) {
      summary.lateDelivery = true;
      stamp = t - rng.uniform(6, 11) * 60_000;
    }
    say(t, { type: 'text', text: rng.pick(OPENERS[category][language][mood]) }, stamp);
    const waitingSince = stamp;
    if ((category === 'delivery' || category === 'product') && rng.chance(P.photo)) {
      t += ps(rng.uniform(5, 20));
      say(t, { type: 'image', caption: rng.pick(PHOTO_CAPTIONS[language]) });
    } else if (rng.chance(P.voiceNote)) {
      t += ps(rng.uniform(5, 30));
      say(t, { type: 'audio' });
    }

    // The bot answers first (always when nobody is online), and settles routine requests.
    const nobodyOnline = AGENTS.every((a) => !this.isOnline(a, t));
    let firstAnswerAt: number | null = null;
    if (nobodyOnline || rng.chance(P.botFirst)) {
      t += ps(rng.uniform(1.5, 5));
      const menu = answer(t, { bot: true });
      firstAnswerAt = t;
      if (rng.chance(P.botMenu)) {
        t += ps(rng.uniform(4, 15));
        say(t, { type: 'interactive', reply: 'list_reply', id: `menu_${category}`, title: category, contextWamid: menu });
        t += ps(rng.uniform(1.5, 4));
        answer(t, { bot: true });
      }
      if (BOT_ROUTINE.has(category) && mood !== 'angry' && rng.chance(P.botResolvesRoutine)) {
        t += ps(rng.uniform(15, 90));
        say(t, { type: 'text', text: rng.pick(THANKS[language]) });
        t += ps(rng.uniform(2, 5));
        event(t, { type: 'resolved', by: 'bot' });
        summary.bot = 'resolved';
        summary.resolvedBy = 'bot';
        this.planCsat(summary, rng, mood, firstAnswerAt - waitingSince);
        return;
      }
      t += ps(rng.uniform(1, 4));
      event(t, { type: 'handover' });
      summary.bot = 'handover';
    }

    // Routing: the least busy online agent, or the next one to come online.
    const routed = this.route(t + ps(rng.uniform(2, 20)), rng);
    if (!routed) return; // nobody comes online within a day: the customer stays waiting
    let agent = routed.agent;
    let assignedAt = Math.max(routed.at, t + ps(2));
    event(assignedAt, { type: 'assigned', agent: agent.id });
    summary.agent = agent.id;
    const handlingFrom = assignedAt;

    /** The agent in charge at `at`: after a shift end the conversation is reassigned (sometimes late). */
    const inCharge = (at: number): number => {
      if (this.isOnline(agent, at)) return at;
      const until = this.onlineUntil(agent, assignedAt);
      const lag = rng.chance(P.lateReassignment) ? ps(rng.uniform(600, 900)) : ps(rng.uniform(20, 120));
      const next = this.route(Math.min(at, until) + lag, rng, agent.id);
      if (!next) return at;
      this.recordHandling(agent.id, handlingFrom, next.at);
      agent = next.agent;
      assignedAt = next.at;
      event(assignedAt, { type: 'assigned', agent: agent.id });
      summary.agent = agent.id;
      return Math.max(at, assignedAt + ps(rng.uniform(10, 40)));
    };
    const agentDelay = () => ps(rng.logNormal(agent.medianResponseSeconds, 0.7) * (1 + 0.35 * this.load(agent.id, assignedAt)));

    let answerAt = assignedAt + agentDelay();
    if (rng.chance(P.leftWaiting)) {
      summary.leftWaiting = true;
      answerAt += ps(rng.uniform(300, 600));
    }
    const nudgeAt = Math.max(t + ps(5), waitingSince + ps(rng.uniform(100, 140)));
    if (mood === 'angry' && nudgeAt < answerAt - ps(2)) say(nudgeAt, { type: 'text', text: rng.pick(STILL_WAITING[language]) });
    answerAt = inCharge(answerAt);
    let last = answer(answerAt, { agent: agent.id });
    firstAnswerAt ??= answerAt;
    t = answerAt;

    for (let round = mood === 'angry' ? rng.int(1, 2) : rng.int(0, 1); round > 0; round--) {
      t += ps(rng.uniform(20, 120));
      say(t, { type: 'text', text: rng.pick(FOLLOW_UPS[language][mood]) });
      t = inCharge(t + agentDelay());
      last = answer(t, { agent: agent.id });
    }
    if (rng.chance(P.manualCategory)) {
      const corrected = rng.chance(0.3) ? rng.pick(CATEGORIES.filter((c) => c !== category)) : category;
      event(t + ps(rng.uniform(5, 30)), { type: 'categorized', category: corrected });
    }
    if (mood !== 'angry' && rng.chance(P.thanks)) {
      t += ps(rng.uniform(10, 60));
      say(t, { type: 'text', text: rng.pick(THANKS[language]) });
    }
    if (rng.chance(P.reaction))
      say(t + ps(rng.uniform(3, 20)), { type: 'reaction', emoji: rng.pick(['👍', '🙏', '❤️']), messageWamid: last });
    if (rng.chance(P.noExplicitResolve)) {
      this.recordHandling(agent.id, handlingFrom, t + ps(1800));
      return; // auto-resolved by the exporter after AUTO_RESOLVE_AFTER
    }
    t = inCharge(t + ps(rng.uniform(20, 180)));
    event(t, { type: 'resolved', by: 'agent', agent: agent.id });
    summary.resolvedBy = 'agent';
    this.planCsat(summary, rng, mood, firstAnswerAt - waitingSince);

    if (rng.chance(P.reopen)) {
      summary.reopened = true;
      t += ps(rng.uniform(60, 600));
      say(t, { type: 'text', text: rng.pick(REOPENERS[language]) });
      t = inCharge(t + agentDelay());
      answer(t, { agent: agent.id });
      t = inCharge(t + ps(rng.uniform(30, 180)));
      event(t, { type: 'resolved', by: 'agent', agent: agent.id });
    }
    this.recordHandling(agent.id, handlingFrom, t);
  }

  private planCsat(summary: ConversationSummary, rng: Random, mood: Mood, firstResponseMs: number): void {
    let score = Number(rng.weighted(CSAT_BY_MOOD[mood]));
    if (firstResponseMs * this.pace > 300_000) score = Math.max(1, score - 1);
    const plan: CsatPlan = {
      answers: rng.chance(P.csatAnswer),
      score,
      style: rng.weighted({ button: 70, digit: 20, stars: 10 }),
      delayMs:
        (Math.min(CSAT_ANSWER_SECONDS.max, Math.max(CSAT_ANSWER_SECONDS.min, rng.logNormal(CSAT_ANSWER_SECONDS.median, 0.8))) * 1000) /
        this.pace,
    };
    summary.csat = plan;
    this.csat.set(summary.customer, plan);
  }
}

const MAX_WEIGHT = Math.max(...HOURLY_WEIGHT) * Math.max(...WEEKDAY_WEIGHT);

function hhmm(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return h! * 60 + m!;
}

/** FNV-1a: a stable hash for per-agent, per-day choices that must not depend on planning order. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
