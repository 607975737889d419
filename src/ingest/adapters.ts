/**
 * The map of ingest adapters, like blackbox_exporter's prober map: one line per provider. Each
 * entry builds its adapter from the validated settings, or returns undefined when the provider
 * is not configured (its endpoint is then off). app.ts mounts every adapter this map returns.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { IngestMetrics } from '../metrics/ingest.ts';
import type { ProviderAdapter } from './adapter.ts';
import { chatwootAdapter } from './chatwoot/adapter.ts';
import { helpdeskAdapter } from './helpdesk/adapter.ts';
import { metaAdapter } from './meta/adapter.ts';
import { splitSecrets } from './meta/signature.ts';
import { respondioAdapter } from './respondio/adapter.ts';
import { twilioFromSettings } from './twilio/adapter.ts';
import { watiFromSettings } from './wati/adapter.ts';

/** What an adapter may use besides the settings: ingest metrics, and a logger (e.g. for a log-only signature mode). */
export interface AdapterDependencies {
  metrics: IngestMetrics;
  logger: Logger;
}

type AdapterFactory = (config: Config, deps: AdapterDependencies) => ProviderAdapter | undefined;

export const ADAPTERS = {
  meta: (config) => metaAdapter({ appSecrets: splitSecrets(config.whatsappAppSecret), verifyToken: config.whatsappVerifyToken }),
  helpdesk: (config) => helpdeskAdapter({ token: config.eventsApiToken }),
  chatwoot: (config, deps) =>
    config.chatwootSignature
      ? chatwootAdapter({
          secrets: splitSecrets(config.chatwootWebhookSecret ?? ''),
          mode: config.chatwootSignature,
          inboxes: config.chatwootInboxes,
          categories: config.categories.labels,
          logger: deps.logger,
        })
      : undefined,
  respondio: (config, deps) =>
    config.respondioSigningKeys
      ? respondioAdapter({
          signingKeys: splitSecrets(config.respondioSigningKeys),
          channels: config.respondioChannels,
          logger: deps.logger,
        })
      : undefined,
  twilio: twilioFromSettings,
  wati: watiFromSettings,
} satisfies Record<string, AdapterFactory>;

/** Every `provider` label value an adapter may report. */
export const PROVIDERS = Object.keys(ADAPTERS);

/** The adapters the settings enable. */
export function enabledAdapters(config: Config, deps: AdapterDependencies): ProviderAdapter[] {
  return Object.values(ADAPTERS as Record<string, AdapterFactory>).flatMap((build) => build(config, deps) ?? []);
}
