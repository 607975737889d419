/**
 * The exporter's background jobs, in one list: what main.ts schedules, and what tests schedule
 * faster. The conversation timers always run; CSAT surveys only when the app can send them.
 */
import type { App } from '../app.ts';
import { advanceDueConversations } from './conversation-timers.ts';
import { sendDueSurveys } from '../csat/send-surveys.ts';
import type { Scheduler } from './scheduler.ts';
import { runRetention } from '../privacy/retention.ts';

/** Auto-resolution, service windows and FCR windows every 30 s; due CSAT surveys every 15 s; retention hourly. */
export const DEFAULT_SCHEDULES = { conversationTimers: '*/30 * * * * *', csatSurveys: '*/15 * * * * *', retention: '0 0 * * * *' };

export function startAppJobs(scheduler: Scheduler, app: App, schedules = DEFAULT_SCHEDULES): void {
  scheduler.start({
    name: 'conversation_timers',
    schedule: schedules.conversationTimers,
    run: async () => (await advanceDueConversations(app.timers)) !== null,
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
