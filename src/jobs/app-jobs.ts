/**
 * The exporter's background jobs, in one list: what main.ts schedules, and what tests schedule
 * faster. The conversation timers and the agent time totals always run, settling facts when
 * SETTLE_AFTER is above zero, and CSAT surveys only when the app can send them.
 */
import { sendDueSurveys } from '../csat/send-surveys.ts';
import { type AgentTimeContext, maintainAgentTime } from './agent-time.ts';
import { advanceDueConversations } from './conversation-timers.ts';
import type { Scheduler } from './scheduler.ts';
import { settleDueFacts } from './settle-facts.ts';
import { type RetentionContext, runRetention } from '../privacy/retention.ts';
import type { SurveyContext } from '../csat/send-surveys.ts';
import type { TimersContext } from './conversation-timers.ts';
import type { SettleContext } from './settle-facts.ts';
import type { IngestQueue } from '../ingest/queue.ts';

/**
 * Auto-resolution, service windows and FCR windows every 30 s; due CSAT surveys every 15 s;
 * retention hourly; agent time totals every 10 s (corrections of the past reach them within that);
 * stored webhooks left unapplied by a stopped replica every 10 s.
 */
export const DEFAULT_SCHEDULES = {
  conversationTimers: '*/30 * * * * *',
  csatSurveys: '*/15 * * * * *',
  retention: '0 0 * * * *',
  agentTime: '*/10 * * * * *',
  ingestSweep: '*/10 * * * * *',
};

/** Facts are settled every half SETTLE_AFTER, between every second and every 5 s. */
export function settleSchedule(settleMs: number): string {
  const seconds = Math.min(5, Math.max(1, Math.round(settleMs / 2000)));
  return `*/${seconds} * * * * *`;
}

/** What the jobs need from the app (createApp returns it). */
export interface JobContexts {
  timers: TimersContext;
  settle: SettleContext;
  surveys: SurveyContext | undefined;
  retention: RetentionContext;
  agentTime: AgentTimeContext;
  ingestQueue: Pick<IngestQueue, 'sweep'>;
}

export function startAppJobs(scheduler: Scheduler, app: JobContexts, schedules = DEFAULT_SCHEDULES): void {
  scheduler.start({
    name: 'conversation_timers',
    schedule: schedules.conversationTimers,
    run: async () => (await advanceDueConversations(app.timers)) !== null,
  });
  if (app.settle.settleMs > 0) {
    scheduler.start({
      name: 'settle_facts',
      schedule: settleSchedule(app.settle.settleMs),
      run: async () => {
        await settleDueFacts(app.settle);
        return true;
      },
    });
  }
  scheduler.start({
    name: 'agent_time',
    schedule: schedules.agentTime,
    run: async () => (await maintainAgentTime(app.agentTime)) !== null,
  });
  // Stored webhooks a stopped replica left unapplied (each replica applies its own right away).
  scheduler.start({
    name: 'ingest_sweep',
    schedule: schedules.ingestSweep,
    run: async () => {
      await app.ingestQueue.sweep();
      return true;
    },
  });
  scheduler.start({
    name: 'retention',
    schedule: schedules.retention,
    run: async () => (await runRetention(app.retention)) !== null,
  });
  const surveys = app.surveys;
  if (surveys)
    scheduler.start({
      name: 'csat_surveys',
      schedule: schedules.csatSurveys,
      run: async () => {
        await sendDueSurveys(surveys);
        return true;
      },
    });
}
