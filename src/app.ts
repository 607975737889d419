/**
 * Builds the HTTP application from its dependencies. Starting and stopping it is main.ts's job,
 * so tests build apps freely (supertest) against their own databases and registries.
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config/config.ts';
import { errorHandler, HttpError } from './http/errors.ts';
import { AuthFailureLimiter, authFailureGuard, AuthMetrics, type AuthLimitOptions } from './http/auth-limiter.ts';
import { securityHeaders } from './http/security-headers.ts';
import { serviceRouter } from './http/service-routes.ts';
import { metaWebhookRouter } from './ingest/meta/routes.ts';
import { createWriter } from './ingest/writer.ts';
import { helpdeskEventsRouter } from './ingest/helpdesk/routes.ts';
import { lifecycleSettings } from './conversations/settings.ts';
import { ScrapeCollectors } from './metrics/collectors.ts';
import { ConversationMetrics } from './metrics/conversations.ts';
import { registerConversationGauges } from './metrics/conversation-gauges.ts';
import { registerAgentGauges } from './metrics/agent-gauges.ts';
import { JobMetrics } from './metrics/jobs.ts';
import type { TimersContext } from './jobs/conversation-timers.ts';
import type { SurveyContext } from './csat/send-surveys.ts';
import { CsatMetrics } from './csat/metrics.ts';
import { splitSecrets } from './ingest/meta/signature.ts';
import { httpLogger } from './logging/logger.ts';
import { registerDatabaseMetrics } from './metrics/database.ts';
import { IngestMetrics } from './metrics/ingest.ts';
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
  /** What the CSAT survey job needs; undefined without WHATSAPP_ACCESS_TOKEN (no surveys). */
  surveys: SurveyContext | undefined;
  /** What the retention job needs. */
  retention: RetentionContext;
}

export function createApp(deps: AppDependencies): App {
  const { config, database, logger } = deps;
  const registry = createRegistry(config.businessHours);
  const ingest = new IngestMetrics(registry);
  const conversations = new ConversationMetrics(registry, config.categories.labels);
  const jobs = new JobMetrics(registry);
  const csat = new CsatMetrics(registry);
  const privacy = new PrivacyMetrics(registry);
  const agentLabel = agentLabeler(config.agentLabels, config.pseudonymKey);

  registerDatabaseMetrics(registry, database);
  const collectors = new ScrapeCollectors(registry, database, logger.child({ module: 'collectors' }));
  registerConversationGauges(collectors, config.categories.labels);
  registerAgentGauges(collectors, agentLabel);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(httpLogger(logger));
  app.use(securityHeaders());
  app.use(authFailureGuard(new AuthFailureLimiter(deps.authLimit), new AuthMetrics(registry)));

  const isReady = deps.isReady ?? (() => true);
  const context = {
    database,
    writer: createWriter(database, {
      lifecycle: lifecycleSettings(config),
      categories: config.categories,
      csat: {
        enabled: config.whatsappAccessToken !== undefined,
        delayMs: config.csatDelayMs,
        responseWindowMs: config.csatResponseWindowMs,
      },
      calendar: config.businessHours,
      ingestMetrics: ingest,
      conversationMetrics: conversations,
      csatMetrics: csat,
      agentLabel,
    }),
    metrics: ingest,
    logger: logger.child({ module: 'ingest' }),
  };
  app.use(
    metaWebhookRouter(context, { appSecrets: splitSecrets(config.whatsappAppSecret), verifyToken: config.whatsappVerifyToken, isReady }),
  );
  app.use(helpdeskEventsRouter(context, { token: config.eventsApiToken, isReady }));
  app.use(erasureRouter({ database, pseudonymKey: config.pseudonymKey, metrics: privacy }, { token: config.eventsApiToken, isReady }));
  app.use(serviceRouter({ registry, database, metricsToken: config.metricsToken }));

  app.use((req, _res, next) => next(new HttpError('not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  const timers = { database, settings: lifecycleSettings(config), calendar: config.businessHours, metrics: conversations };
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
  return { express: app, registry, metrics: { ingest, conversations, jobs }, timers, surveys, retention };
}
