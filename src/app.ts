/**
 * Builds the HTTP application from its dependencies. Starting and stopping it is main.ts's job,
 * so tests build apps freely (supertest) against their own databases and registries.
 */
import type { RequestListener } from 'node:http';
import express, { type Express } from 'express';
import proxyaddr from 'proxy-addr';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config/config.ts';
import { lifecycleSettings } from './conversations/settings.ts';
import type { FoldSettings } from './conversations/threads.ts';
import { CsatMetrics } from './csat/metrics.ts';
import type { SurveyContext } from './csat/send-surveys.ts';
import { errorHandler, HttpError } from './http/errors.ts';
import { AuthFailureLimiter, authFailureGuard, AuthGuard, AuthMetrics, type AuthLimitOptions } from './http/auth-limiter.ts';
import { securityHeaders } from './http/security-headers.ts';
import { serviceRouter } from './http/service-routes.ts';
import type { RawRequest } from './ingest/adapter.ts';
import { enabledAdapters, PROVIDERS } from './ingest/adapters.ts';
import { EVENT_TYPES } from './ingest/helpdesk/events.ts';
import { fastWebhookPath } from './ingest/fast-path.ts';
import { adapterRouter } from './ingest/pipeline.ts';
import { IngestQueue } from './ingest/queue.ts';
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
import { registerIngestQueueGauges, webhookApplyFailures } from './metrics/ingest-queue.ts';
import { IngestMetrics } from './metrics/ingest.ts';
import { JobMetrics } from './metrics/jobs.ts';
import { ScrapeRhythm } from './metrics/scrape-rhythm.ts';
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
  /**
   * The request listener to serve: the busiest webhook POSTs on plain HTTP (ingest/fast-path.ts),
   * everything else through Express (which reaches the same handling for those POSTs too).
   */
  handler: RequestListener;
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
  /** Webhooks answered once stored and applied behind: main.ts sweeps leftovers; tests wait for idle(). */
  ingestQueue: IngestQueue;
}

export function createApp(deps: AppDependencies): App {
  const { config, database, logger } = deps;
  const agentLabel = agentLabeler(config.agentLabels, config.pseudonymKey);
  const businessNumber = (phoneNumberId: string) => config.businessNumberNames.get(phoneNumberId) ?? phoneNumberId;
  const { registry, ingest, conversations, jobs, csat, privacy, auth, collectors, counting, applyFailures } = registerMetrics(
    config,
    database,
    logger,
    {
      agentLabel,
      businessNumber,
    },
  );

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
  const authGuard = new AuthGuard(new AuthFailureLimiter(deps.authLimit), auth);
  app.use(authFailureGuard(authGuard));

  const writer = createWriter(database, {
    lifecycle: fold.lifecycle,
    settleMs: fold.settleMs,
    categories: config.categories,
    csat: { enabled: config.whatsappAccessToken !== undefined, delayMs: config.csatDelayMs, responseWindowMs: config.csatResponseWindowMs },
    counting,
  });
  const ingestLogger = logger.child({ module: 'ingest' });
  const adapters = enabledAdapters(config, { metrics: ingest, logger: ingestLogger });
  const ingestQueue = new IngestQueue({
    database,
    writer,
    logger: ingestLogger,
    parse: (provider, body) => {
      const adapter = adapters.find((a) => a.provider === provider && a.appliesFromBody);
      if (!adapter) throw new Error(`no adapter applies stored ${provider} bodies`);
      const stored: RawRequest = { method: 'POST', originalUrl: adapter.path, headers: {}, query: {}, body: Buffer.from(body) };
      return adapter.parse(JSON.parse(body), stored);
    },
    onRejected: (provider) => applyFailures.inc({ provider }),
    deferWhileBusy: config.webhookAck === 'stored',
  });
  const pipeline = {
    database,
    writer,
    metrics: ingest,
    logger: ingestLogger,
    isReady: deps.isReady ?? (() => true),
    queue: ingestQueue,
    ack: config.webhookAck,
  };
  for (const adapter of adapters) app.use(adapterRouter(adapter, pipeline));
  const trust = app.get('trust proxy fn') as Parameters<typeof proxyaddr>[1];
  const scrapeRhythm = new ScrapeRhythm();
  const fastPath = fastWebhookPath(adapters, pipeline, {
    logger,
    authGuard,
    clientAddress: (req) => proxyaddr(req, trust),
  });
  app.use(
    serviceRouter({
      registry,
      database,
      metricsToken: config.metricsToken,
      isReady: deps.isReady,
      rhythm: scrapeRhythm,
      // A scrape first lets this replica apply what it answered already (a short wait at most),
      // then counts what has settled, so counters lag the timeline by SETTLE_AFTER only.
      // The collectors read nothing that settling writes, so their run starts first; the scrape's
      // families that do not wait for it are formatted while PostgreSQL answers the collectors.
      beforeScrape: async () => {
        await ingestQueue.caughtUp(SCRAPE_WAITS_FOR_QUEUE_MS);
        void collectors.collect();
        if (config.settleAfterMs > 0) await settleDueFacts(settle);
      },
    }),
  );
  app.use(
    erasureRouter(
      { database, pseudonymKey: config.pseudonymKey, metrics: privacy },
      { token: config.eventsApiToken, isReady: deps.isReady ?? (() => true), beforeErasure: () => ingestQueue.sweep(0) },
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
    handler: (req, res) => {
      if (!fastPath(req, res)) app(req, res);
    },
    registry,
    metrics: { ingest, conversations, jobs },
    timers: { database, fold, counting },
    settle,
    surveys,
    retention,
    agentTime: { database, quietFor: (expectedMs, atMostMs) => scrapeRhythm.quietFor(expectedMs, atMostMs) },
    ingestQueue,
  };
}

/** How long a scrape waits for webhooks this replica answered to be applied (a burst's backlog is not waited for). */
const SCRAPE_WAITS_FOR_QUEUE_MS = 1_000;

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
  registerIngestQueueGauges(collectors);
  const applyFailures = webhookApplyFailures(registry, PROVIDERS);

  // The one place that counts what a committed write established.
  const counting = new Counting({
    ingest,
    conversations,
    undeliveredSurveys: (count) => csat.surveys.inc({ outcome: 'undelivered' }, count),
    calendar: config.businessHours,
    businessNumber: labels.businessNumber,
    agentLabel: labels.agentLabel,
  });
  return { registry, ingest, conversations, jobs, csat, privacy, auth, collectors, counting, applyFailures };
}
