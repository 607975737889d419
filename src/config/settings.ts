/**
 * The catalogue of settings: every environment variable the exporter reads, what it means and its
 * default. `--help` prints it; a test checks it against the schema in config.ts and the README's
 * settings table, so that none of the three can forget a setting.
 *
 * Secrets may instead be read from a file named by `<NAME>_FILE` (Docker and Kubernetes secrets),
 * and a placeholder such as the `change-me` values of .env.example is refused at start.
 */
export interface Setting {
  name: string;
  meaning: string;
  default: string;
  /** Read from `<name>_FILE` as well; placeholders refused. */
  secret?: boolean;
}

export const SETTINGS: readonly Setting[] = [
  { name: 'PORT', meaning: 'HTTP port for webhooks, the events API, /metrics and health', default: '8080' },
  {
    name: 'DATABASE_URL',
    meaning: 'PostgreSQL connection string, postgres://user:password@host:5432/db',
    default: 'unset: embedded PGlite',
    secret: true,
  },
  { name: 'DATA_DIR', meaning: 'where the embedded database lives', default: './data' },
  {
    name: 'WHATSAPP_APP_SECRET',
    meaning: 'Meta app secret that verifies X-Hub-Signature-256 (comma-separated for rotation)',
    default: 'required',
    secret: true,
  },
  { name: 'WHATSAPP_VERIFY_TOKEN', meaning: "token for Meta's GET verification handshake", default: 'required', secret: true },
  { name: 'EVENTS_API_TOKEN', meaning: 'bearer token for POST /api/v1/events', default: 'required', secret: true },
  { name: 'METRICS_TOKEN', meaning: 'if set, /metrics requires Authorization: Bearer <token>', default: 'unset: open', secret: true },
  { name: 'LOG_LEVEL', meaning: 'fatal, error, warn, info, debug, trace or silent', default: 'info' },
  { name: 'AUTO_RESOLVE_AFTER', meaning: 'an open conversation with no message for this long is resolved', default: '24h' },
  { name: 'FCR_WINDOW', meaning: 'a customer who writes again within this time after a resolution reopens it', default: '72h' },
  {
    name: 'SETTLE_AFTER',
    meaning: 'a fact (a first response, a resolution …) is counted once it has stood unchanged this long; 0s counts at once',
    default: '30s',
  },
  {
    name: 'WEBHOOK_ACK',
    meaning: 'answer Meta webhooks once stored durably (applied right behind) or once applied to the conversations',
    default: 'stored',
  },
  {
    name: 'BUSINESS_NUMBER_NAMES',
    meaning: 'short names for the business_number label: phone_number_id=name, comma-separated',
    default: 'unset: the phone_number_id',
  },
  { name: 'BUSINESS_HOURS', meaning: 'JSON file or inline JSON: time zone, weekly schedule, holidays', default: 'unset: always open' },
  { name: 'WHATSAPP_ACCESS_TOKEN', meaning: 'Graph API token for sending CSAT surveys', default: 'unset: no surveys', secret: true },
  { name: 'WHATSAPP_API_URL', meaning: 'Graph API base URL, version included', default: 'https://graph.facebook.com/v24.0' },
  { name: 'CSAT_DELAY', meaning: 'wait after a resolution before the survey goes out', default: '5m' },
  { name: 'CSAT_RESPONSE_WINDOW', meaning: 'how long an answer to a survey is accepted', default: '24h' },
  { name: 'CSAT_TEMPLATE_NAME', meaning: 'approved UTILITY template for surveys outside the 24-hour window', default: 'unset' },
  { name: 'CSAT_TEMPLATE_LANGUAGE', meaning: 'language of that template, e.g. en_US or de', default: 'unset' },
  { name: 'RETENTION_DAYS', meaning: 'personal data of older conversations is removed', default: '90' },
  {
    name: 'TWILIO_AUTH_TOKEN',
    meaning: 'Twilio auth token: verifies X-Twilio-Signature on POST /webhooks/twilio (needs PUBLIC_URL; comma-separated while rotating)',
    default: 'unset: Twilio endpoint off',
    secret: true,
  },
  {
    name: 'TWILIO_WEBHOOK_SHARED_KEYS',
    meaning: 'secrets of Twilio Webhooks Rule shared keys, for requests signed with one (comma-separated)',
    default: 'unset',
    secret: true,
  },
  { name: 'PUBLIC_URL', meaning: "the exporter's public base URL, as Twilio calls it (Twilio signs it)", default: 'unset' },
  {
    name: 'WATI_WEBHOOK_TOKEN',
    meaning: 'the secret in the WATI webhook URL, /webhooks/wati/<token> (WATI signs nothing); at least 16 URL-safe characters',
    default: 'unset: WATI endpoint off',
    secret: true,
  },
  {
    name: 'WATI_CHANNEL_NUMBER',
    meaning: 'the WATI channel number (with country code), for WATI events that name no channelPhoneNumber',
    default: 'unset: such events go to business number "wati"',
  },
  {
    name: 'CHATWOOT_WEBHOOK_SECRET',
    meaning:
      "the Chatwoot webhook's secret: verifies X-Chatwoot-Signature (comma-separated for several webhooks); turns /webhooks/chatwoot on",
    default: 'unset: Chatwoot endpoint off',
    secret: true,
  },
  {
    name: 'CHATWOOT_SIGNATURE',
    meaning: 'enforce: refuse unsigned, stale or wrong signatures; log-only: log them and accept; unsigned: no secret, accept and log',
    default: 'enforce with a secret, else off',
  },
  {
    name: 'CHATWOOT_INBOXES',
    meaning: "Chatwoot inbox id=the phone_number_id of its WhatsApp number, comma-separated, so its threads are Meta's",
    default: 'unset: chatwoot-inbox-<id>',
  },
  {
    name: 'RESPONDIO_SIGNING_KEYS',
    meaning: "respond.io webhooks' signing keys, comma-separated (one per webhook); turns /webhooks/respondio on",
    default: 'unset: respond.io endpoint off',
    secret: true,
  },
  {
    name: 'RESPONDIO_CHANNELS',
    meaning: "respond.io channel id=the phone_number_id of its WhatsApp number, comma-separated, so its threads are Meta's",
    default: 'unset: respondio',
  },
  { name: 'CATEGORIES_FILE', meaning: 'JSON rules for request categories', default: 'config/categories.json' },
  {
    name: 'PSEUDONYM_KEY',
    meaning: 'key of the keyed hashes: agent labels (AGENT_LABELS=hashed) and customer pseudonyms stable across retention runs',
    default: 'unset: a fresh random key per retention run',
    secret: true,
  },
  { name: 'AGENT_LABELS', meaning: 'as_is: agent ids as sent; hashed: agent- and 12 hex digits of a keyed hash', default: 'as_is' },
  {
    name: 'TRUST_PROXY',
    meaning: 'reverse proxies in front (a number, or addresses/CIDR ranges), so clients are told apart by X-Forwarded-For',
    default: 'unset: the connecting address',
  },
];

export const SECRET_SETTINGS: readonly string[] = SETTINGS.filter((s) => s.secret).map((s) => s.name);

/**
 * Values that are obviously not a real secret: the `change-me…` values of .env.example, the `…`
 * of the README, and the usual stand-ins. Compared case-insensitively after trimming.
 */
const PLACEHOLDER = /^(?:change[-_ ]?me\b.*|changeme.*|replace[-_ ]?me\b.*|…|\.\.\.|<[^>]*>|xxx+|todo)$/i;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim());
}
