/**
 * Builds the HTTP application from its dependencies. Starting and stopping it is main.ts's job,
 * so tests build apps freely (supertest) against their own databases and registries.
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config/config.ts';
import { lifecycleSettings } from './conversations/settings.ts';
import type { FoldSettings } from './conversations/threads.ts';
import { CsatMetrics } from './csat/metrics.ts';
import type { SurveyContext } from './csat/send-surveys.ts';
import { errorHandler, HttpError } from './http/errors.ts';
import { AuthFailureLimiter, authFailureGuard, AuthMetrics, type AuthLimitOptions } from './http/auth-limiter.ts';
import { securityHeaders } from './http/security-headers.ts';
import { serviceRouter } from './http/service-routes.ts';
import { enabledAdapters, PROVIDERS } from './ingest/adapters.ts';
import { EVENT_TYPES } from './ingest/helpdesk/events.ts';
import { adapterRouter } from './ingest/pipeline.ts';
import { createWriter } from './ingest/writer.ts';
import type { AgentTimeContext } from './jobs/agent-time.ts';
import type { TimersContext } from './jobs/conversation-timers.ts';
import type { SettleContext } from './jobs/settle-facts.ts';
import { settleDueFacts } from './jobs/settle-facts.ts';
import { httpLogger } from './logging/logger.ts';
import { registerAgentGauges } from './metrics/agent-gauges.ts';
import { ScrapeCollectors } from './metrics/collectors.ts';
import { registerConversationGauges } from './metrics/conversation-gauges.ts';
import { ConversationMetrics } from './metrics/conversations.ts';
import { Counting } from './metrics/counting.ts';
import { registerDatabaseMetrics } from './metrics/database.ts';
import { IngestMetrics } from './metrics/ingest.ts';
import { JobMetrics } from './metrics/jobs.ts';
import { createRegistry } from './metrics/registry.ts';
import type { Database } from './storage/database.ts';
import { PrivacyMetrics } from './privacy/metrics.ts';
import { agentLabeler } from './privacy/pseudonyms.ts';
import type { RetentionContext } from './privacy/retention.ts';
import { erasureRouter } from './privacy/routes.ts';

export interface AppDependencies {
  config: Config;
  database: Database;
  logger: Logger;
  /** Whether migrations are applied; webhooks answer 503 until then. Defaults to always. */
  isReady?: () => boolean;
  /** Limits on repeated authentication failures per source (tests fuzzing without tokens raise them). */
  authLimit?: AuthLimitOptions;
}

export interface App {
  express: Express;
  registry: Registry;
  metrics: { ingest: IngestMetrics; conversations: ConversationMetrics; jobs: JobMetrics };
  /** What the conversation timers job needs (main.ts schedules it; tests call it directly). */
  timers: TimersContext;
  /** What the settle job needs (counting facts that stood SETTLE_AFTER). */
  settle: SettleContext;
  /** What the CSAT survey job needs; undefined without WHATSAPP_ACCESS_TOKEN (no surveys). */
  surveys: SurveyContext | undefined;
  /** What the retention job needs. */
  retention: RetentionContext;
  /** What the agent time job needs (running totals behind whatsapp_agent_*_seconds_total). */
  agentTime: AgentTimeContext;
}

export function createApp(deps: AppDependencies): App {
  const { config, database, logger } = deps;
  const agentLabel = agentLabeler(config.agentLabels, config.pseudonymKey);
  const businessNumber = (phoneNumberId: string) => config.businessNumberNames.get(phoneNumberId) ?? phoneNumberId;
  const { registry, ingest, conversations, jobs, csat, privacy, auth, counting } = registerMetrics(config, database, logger, {
    agentLabel,
    businessNumber,
  });

  const fold: FoldSettings = {
    lifecycle: lifecycleSettings(config),
    settleMs: config.settleAfterMs,
    boundCategory: config.categories.bounded,
  };
  const settle: SettleContext = { database, settleMs: config.settleAfterMs, counting };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(httpLogger(logger));
  app.use(securityHeaders());
  app.use(authFailureGuard(new AuthFailureLimiter(deps.authLimit), auth));

  const writer = createWriter(database, {
    lifecycle: fold.lifecycle,
    settleMs: fold.settleMs,
    categories: config.categories,
    csat: { enabled: config.whatsappAccessToken !== undefined, delayMs: config.csatDelayMs, responseWindowMs: config.csatResponseWindowMs },
    counting,
  });
  const pipeline = { database, writer, metrics: ingest, logger: logger.child({ module: 'ingest' }), isReady: deps.isReady ?? (() => true) };
  for (const adapter of enabledAdapters(config, { metrics: ingest, logger: pipeline.logger })) app.use(adapterRouter(adapter, pipeline));
  app.use(
    serviceRouter({
      registry,
      database,
      metricsToken: config.metricsToken,
      isReady: deps.isReady,
      // A scrape first counts what has settled, so counters lag the timeline by SETTLE_AFTER only.
      beforeScrape: config.settleAfterMs > 0 ? () => settleDueFacts(settle) : undefined,
    }),
  );
  app.use(
    erasureRouter(
      { database, pseudonymKey: config.pseudonymKey, metrics: privacy },
      { token: config.eventsApiToken, isReady: deps.isReady ?? (() => true) },
    ),
  );

  app.use((req, _res, next) => next(new HttpError('not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  const surveys: SurveyContext | undefined = config.whatsappAccessToken
    ? {
        database,
        metrics: csat,
        api: { apiUrl: config.whatsappApiUrl, accessToken: config.whatsappAccessToken },
        template:
          config.csatTemplateName && config.csatTemplateLanguage
            ? { name: config.csatTemplateName, language: config.csatTemplateLanguage }
            : undefined,
        responseWindowMs: config.csatResponseWindowMs,
      }
    : undefined;
  const retention: RetentionContext = {
    database,
    settings: { retentionDays: config.retentionDays, autoResolveAfterMs: config.autoResolveAfterMs, pseudonymKey: config.pseudonymKey },
    metrics: privacy,
  };
  return {
    express: app,
    registry,
    metrics: { ingest, conversations, jobs },
    timers: { database, fold, counting },
    settle,
    surveys,
    retention,
    agentTime: { database },
  };
}

/**
 * Every metric family and scrape-time collector of the exporter, in one list (docs/metrics.md
 * documents each; test/metric-contract.test.ts holds the two together). Families of a feature
 * live in its folder (CSAT, privacy, HTTP auth); they are all registered here.
 */
function registerMetrics(
  config: Config,
  database: Database,
  logger: Logger,
  labels: { agentLabel: (agent: string) => string; businessNumber: (phoneNumberId: string) => string },
) {
  const registry = createRegistry(config.businessHours);
  const ingest = new IngestMetrics(registry, PROVIDERS, EVENT_TYPES);
  const conversations = new ConversationMetrics(registry, config.categories.labels);
  const jobs = new JobMetrics(registry);
  const csat = new CsatMetrics(registry);
  const privacy = new PrivacyMetrics(registry);
  const auth = new AuthMetrics(registry);
  registerDatabaseMetrics(registry, database);
  for (const name of config.businessNumberNames.values()) conversations.knowBusinessNumber(name);

  // Scrape-time collectors: gauges and agent time read from the database when Prometheus scrapes.
  const collectors = new ScrapeCollectors(registry, database, logger.child({ module: 'collectors' }));
  registerConversationGauges(collectors, config.categories.labels, labels.businessNumber, (name) => conversations.knowBusinessNumber(name));
  registerAgentGauges(collectors, labels.agentLabel);

  // The one place that counts what a committed write established.
  const counting = new Counting({
    ingest,
    conversations,
    undeliveredSurveys: (count) => csat.surveys.inc({ outcome: 'undelivered' }, count),
    calendar: config.businessHours,
    businessNumber: labels.businessNumber,
    agentLabel: labels.agentLabel,
  });
  return { registry, ingest, conversations, jobs, csat, privacy, auth, collectors, counting };
}
