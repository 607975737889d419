/**
 * The demo traffic simulator: plays a TrafficPlanner's actions against a running exporter in
 * real time — in a provider's wire format (signed Meta webhooks to /webhooks/whatsapp by default;
 * see wire/) and helpdesk events to /api/v1/events —
 * and answers the CSAT surveys the exporter sends (through the Graph API stub) the way the plan
 * says the customer would. Actions of one customer (or one agent) are sent in order; different
 * customers are sent concurrently. A 503 or a network error is retried, as Meta would.
 */
import { TrafficPlanner, type Action, type PlanOptions } from './plan.ts';
import type { SentMessage } from './graph-api.ts';
import { csatText } from './texts.ts';
import { WIRE_FORMATS } from './wire/index.ts';
import type { WireFormat } from './wire/wire.ts';

export interface SimulatorOptions extends PlanOptions {
  /** Base URL of the exporter, e.g. http://127.0.0.1:8080. */
  target: string;
  /** The exporter's WHATSAPP_APP_SECRET (the first one, if it lists several). */
  appSecret: string;
  /** The exporter's EVENTS_API_TOKEN. */
  eventsToken: string;
  /** Which provider's format to send webhooks in (WIRE_FORMATS); default `meta`. */
  provider?: string;
  /** Further secrets a provider signs with, by the exporter's setting name (e.g. TWILIO_AUTH_TOKEN, PUBLIC_URL). */
  providerSecrets?: Readonly<Record<string, string | undefined>>;
  /** Real run time in ms; unset runs until stop(). Actions planned after it are not sent. */
  durationMs?: number;
  /**
   * Conversations start only within this many ms (default: durationMs); their later actions are
   * still sent up to durationMs. A backfill of history uses it so that no conversation is cut off.
   */
  arrivalsMs?: number;
  /** How far ahead to plan (ms of real time). */
  lookaheadMs?: number;
  /** Requests in flight at most. */
  concurrency?: number;
  /** Progress and problems, one line each. */
  log?: (line: string) => void;
}

export interface SimulatorStats {
  conversations: number;
  requests: number;
  byKind: Record<string, number>;
  byStatus: Record<string, number>;
  failedRequests: number;
  surveys: number;
  csatAnswers: number;
}

export class Simulator {
  readonly planner: TrafficPlanner;
  readonly stats: SimulatorStats = {
    conversations: 0,
    requests: 0,
    byKind: {},
    byStatus: {},
    failedRequests: 0,
    surveys: 0,
    csatAnswers: 0,
  };
  private readonly baseMs: number;
  private readonly target: string;
  private queue: Action[] = [];
  private plannedUntil = 0;
  private readonly chains = new Map<string, Promise<void>>();
  private inFlight = 0;
  private readonly slots: (() => void)[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  private sequence = 0;

  private readonly wire: WireFormat;

  constructor(private readonly options: SimulatorOptions) {
    const wire = WIRE_FORMATS[options.provider ?? 'meta'];
    if (!wire) throw new Error(`unknown provider "${options.provider}" — expected one of ${Object.keys(WIRE_FORMATS).join(', ')}`);
    this.wire = wire;
    this.planner = new TrafficPlanner(options);
    this.baseMs = options.start.getTime();
    this.target = options.target.replace(/\/+$/, '');
  }

  /** Runs until `durationMs` has passed (and everything due was sent) or stop() is called. */
  async run(): Promise<SimulatorStats> {
    const lookahead = this.options.lookaheadMs ?? 30_000;
    const end = this.options.durationMs ?? Number.POSITIVE_INFINITY;
    const arrivalsEnd = Math.min(this.options.arrivalsMs ?? end, end);
    while (!this.stopped) {
      const now = Date.now() - this.baseMs;
      if (this.plannedUntil < Math.min(now + lookahead / 2, arrivalsEnd)) {
        const until = Math.min(now + lookahead, arrivalsEnd);
        this.enqueue(this.planner.planUntil(until));
        this.plannedUntil = until;
        this.stats.conversations = this.planner.conversations.length;
      }
      while (this.queue.length > 0 && this.queue[0]!.at <= now) {
        const action = this.queue.shift()!;
        if (action.at <= end) this.dispatch(action);
      }
      if (now >= end) break;
      const next = this.queue[0]?.at ?? now + 250;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(5, Math.min(next - now, 250, end - now)));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    await Promise.allSettled([...this.chains.values()]);
    return this.stats;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** A message the exporter sent through the Graph API stub: a CSAT survey gets its statuses and, as planned, an answer. */
  handleSentMessage(message: SentMessage): void {
    if (message.phoneNumberId !== this.planner.business.phoneNumberId) return;
    const plan = this.planner.csat.get(message.to);
    if (!plan) return;
    this.stats.surveys += 1;
    const now = Date.now() - this.baseMs;
    const key = `customer:${message.to}`;
    const status = (at: number, value: 'sent' | 'delivered' | 'read'): Action => ({
      at,
      stamp: at,
      key,
      kind: 'status',
      customer: message.to,
      wamid: message.wamid,
      status: value,
      callback: message.callback,
    });
    const actions: Action[] = [status(now + 200, 'sent'), status(now + 700, 'delivered')];
    if (plan.answers) {
      const at = now + 1_000 + plan.delayMs;
      actions.push(status(at - 300, 'read'));
      this.sequence += 1;
      const wamid = `wamid.demo${this.planner.runId}csat${this.sequence.toString(36).padStart(5, '0')}`;
      const name = this.planner.byCustomer.get(message.to)?.name ?? 'Customer';
      const content =
        plan.style === 'button' && message.type === 'interactive'
          ? {
              type: 'interactive' as const,
              reply:
                (message.body.interactive as { type?: string } | undefined)?.type === 'button'
                  ? ('button_reply' as const)
                  : ('list_reply' as const),
              id: `csat_${plan.score}`,
              title: `${'⭐'.repeat(plan.score)} ${plan.score}`,
              contextWamid: message.wamid,
            }
          : plan.style === 'button' && message.type === 'template'
            ? { type: 'button' as const, payload: `csat_${plan.score}`, text: `${plan.score}`, contextWamid: message.wamid }
            : { type: 'text' as const, text: csatText(plan.score, plan.style === 'stars' ? 'stars' : 'digit') };
      actions.push({ at, stamp: at, key, kind: 'inbound', customer: message.to, name, wamid, content });
      this.stats.csatAnswers += 1;
    }
    this.enqueue(actions);
    this.wake?.();
  }

  private enqueue(actions: Action[]): void {
    if (actions.length === 0) return;
    this.queue = [...this.queue, ...actions].sort((a, b) => a.at - b.at);
  }

  private dispatch(action: Action): void {
    const previous = this.chains.get(action.key) ?? Promise.resolve();
    const next = previous.then(() => this.send(action));
    this.chains.set(action.key, next);
    void next.finally(() => {
      if (this.chains.get(action.key) === next) this.chains.delete(action.key);
    });
  }

  private async send(action: Action): Promise<void> {
    if (this.inFlight >= (this.options.concurrency ?? 16)) await new Promise<void>((resolve) => this.slots.push(resolve));
    this.inFlight += 1;
    try {
      const request = this.wire(action, {
        target: this.target,
        business: this.planner.business,
        baseMs: this.baseMs,
        secrets: {
          ...this.options.providerSecrets,
          WHATSAPP_APP_SECRET: this.options.appSecret,
          EVENTS_API_TOKEN: this.options.eventsToken,
        },
      });
      if (request === null) return;
      const { url, init } = request;
      const kind =
        action.kind === 'event' ? `event:${action.event.type}` : action.kind === 'status' ? `status:${action.status}` : action.kind;
      this.stats.byKind[kind] = (this.stats.byKind[kind] ?? 0) + 1;
      for (let attempt = 1; ; attempt++) {
        let status: number;
        try {
          const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
          status = res.status;
          if (status >= 400) {
            const text = await res.text();
            if (status !== 503) this.options.log?.(`${kind}: HTTP ${status} ${text.slice(0, 300)}`);
          } else {
            await res.arrayBuffer();
          }
        } catch (error) {
          status = 0;
          if (attempt === 1) this.options.log?.(`${kind}: ${(error as Error).message}`);
        }
        this.stats.requests += 1;
        this.stats.byStatus[String(status)] = (this.stats.byStatus[String(status)] ?? 0) + 1;
        if ((status === 0 || status === 503) && attempt < 4 && !this.stopped) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        if (status === 0 || status >= 400) this.stats.failedRequests += 1;
        return;
      }
    } finally {
      this.inFlight -= 1;
      this.slots.shift()?.();
    }
  }
}

/** One line about a run so far. */
export function describeStats(stats: SimulatorStats): string {
  const statuses = Object.entries(stats.byStatus)
    .map(([s, n]) => `${s === '0' ? 'network error' : s}×${n}`)
    .join(' ');
  return `${stats.conversations} conversations, ${stats.requests} requests (${statuses || 'none yet'}), ${stats.surveys} CSAT surveys, ${stats.csatAnswers} answered`;
}
