/**
 * The exporter's command line. Settings are environment variables; the command line only asks
 * for help or the version. `npm start -- --help` prints every setting from the catalogue.
 */
import { parseArgs } from 'node:util';
import { SETTINGS } from '../config/settings.ts';

export type CommandLine = { action: 'start' } | { action: 'help' } | { action: 'version' } | { action: 'error'; message: string };

export function parseCommandLine(args: string[]): CommandLine {
  try {
    const { values } = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) return { action: 'help' };
    if (values.version) return { action: 'version' };
    return { action: 'start' };
  } catch (error) {
    return { action: 'error', message: (error as Error).message };
  }
}

export function usage(version: string): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length));
  const rows = SETTINGS.map((s) => `  ${s.name.padEnd(width)}  ${s.meaning} [${s.default}]${s.secret ? ' (secret)' : ''}`);
  return [
    `whatsapp-helpdesk-exporter ${version}: WhatsApp Business API webhooks into PostgreSQL, helpdesk KPIs on /metrics`,
    '',
    'Usage: npm start [-- --help | --version]',
    '       node dist/main.js [--help | --version]',
    '',
    'Options:',
    '  -h, --help     print this help and exit',
    '  -v, --version  print the version and exit',
    '',
    'Settings (environment variables, checked at start) [default]:',
    ...rows,
    '',
    'Every (secret) may instead be read from the file named by <NAME>_FILE, e.g. EVENTS_API_TOKEN_FILE=/run/secrets/events_api_token.',
    'Placeholders such as the change-me values of .env.example are refused. Durations: 30s, 5m, 24h, 7d.',
    'Endpoints: /webhooks/whatsapp, /api/v1/events, /metrics, /healthz, /readyz. See README.md.',
    '',
  ].join('\n');
}
