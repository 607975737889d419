/**
 * The simulated helpdesk: its weekly rhythm, its team and shifts, and the mix of requests. Every
 * number that shapes the demo traffic lives here, each with why; docs/dashboards.md describes
 * the result and test/demo.test.ts checks that a run produces it.
 */
import type { Category, Language, Mood } from './texts.ts';

/** Relative traffic per local hour (0–23): quiet nights, a late-morning plateau and an evening peak. */
export const HOURLY_WEIGHT: readonly number[] = [
  0.06, 0.04, 0.03, 0.03, 0.04, 0.08, 0.15, 0.3, 0.5, 0.7, 0.8, 0.8, 0.75, 0.7, 0.65, 0.65, 0.7, 0.8, 0.9, 1.0, 1.0, 0.85, 0.5, 0.2,
];

/** Relative traffic per weekday (0 = Sunday): Monday catches up on the weekend, weekends are calmer. */
export const WEEKDAY_WEIGHT: readonly number[] = [0.55, 1.1, 1.0, 0.95, 0.9, 0.85, 0.6];

export const CATEGORY_MIX: Readonly<Record<Category, number>> = {
  delivery: 30,
  billing: 18,
  product: 18,
  refund: 12,
  account: 14,
  other: 8,
};

export const LANGUAGE_MIX: Readonly<Record<Language, number>> = { de: 60, en: 40 };

/** Refund and delivery trouble make people angry more often than a product question. */
export const MOOD_MIX: Readonly<Record<Category, Readonly<Record<Mood, number>>>> = {
  delivery: { happy: 20, neutral: 55, angry: 25 },
  billing: { happy: 20, neutral: 60, angry: 20 },
  product: { happy: 35, neutral: 50, angry: 15 },
  refund: { happy: 15, neutral: 50, angry: 35 },
  account: { happy: 25, neutral: 60, angry: 15 },
  other: { happy: 40, neutral: 45, angry: 15 },
};

/** Requests the bot can settle from FAQs (prometheus/thresholds.ts SELECTORS.routineCategories, plus `other`). */
export const BOT_ROUTINE: ReadonlySet<Category> = new Set(['delivery', 'account', 'other']);

export const P = {
  /** The bot answers first (it always does at night, when nobody is online). */
  botFirst: 0.8,
  /** The bot answers with a menu and the customer taps a list row. */
  botMenu: 0.25,
  /** A routine request, answered by the bot, that the bot also resolves (when the customer is not angry). */
  botResolvesRoutine: 0.6,
  /** The customer says hello before the actual question. */
  greeting: 0.2,
  /** The first message arrives minutes late (the phone was offline): the customer has already waited. */
  lateDelivery: 0.03,
  /** A photo of the problem (delivery and product requests). */
  photo: 0.15,
  /** A voice note (no text). */
  voiceNote: 0.04,
  /** The agent overlooks the conversation for several minutes: a customer left waiting. */
  leftWaiting: 0.05,
  /** An agent answer typed in the WhatsApp Business app (seen as an smb_message_echoes webhook). */
  echo: 0.08,
  /** An outbound message that WhatsApp cannot deliver. */
  deliveryFailure: 0.03,
  /** The agent sets or corrects the category by hand. */
  manualCategory: 0.12,
  /** The agent forgets to resolve: the exporter auto-resolves after AUTO_RESOLVE_AFTER. */
  noExplicitResolve: 0.08,
  /** The customer says thanks before the resolution. */
  thanks: 0.5,
  /** The customer comes back within the FCR window: the conversation reopens. */
  reopen: 0.08,
  /** The customer reacts to the last answer with an emoji. */
  reaction: 0.08,
  /** The customer answers the CSAT survey. */
  csatAnswer: 0.6,
  /** A reassignment after a shift end comes late (conversations sit with an offline agent). */
  lateReassignment: 0.3,
};

/** WhatsApp error codes of failed sends, weighted by how often they occur in practice. */
export const FAILURE_CODES: Readonly<Record<string, number>> = {
  '131026': 45, // message undeliverable (no WhatsApp, old app version)
  '131047': 20, // re-engagement: more than 24 h since the customer wrote
  '130429': 15, // throughput limit reached
  '131053': 10, // media upload error
  '131000': 10, // something went wrong
};

/** How long customers take to answer the survey: most within a minute or two, a few much later. */
export const CSAT_ANSWER_SECONDS = { median: 45, min: 10, max: 900 };

/** CSAT score weights by mood; a slow first answer costs a point. */
export const CSAT_BY_MOOD: Readonly<Record<Mood, Readonly<Record<'1' | '2' | '3' | '4' | '5', number>>>> = {
  happy: { '1': 0, '2': 1, '3': 4, '4': 30, '5': 65 },
  neutral: { '1': 2, '2': 4, '3': 12, '4': 40, '5': 42 },
  angry: { '1': 25, '2': 25, '3': 25, '4': 15, '5': 10 },
};

export interface Shift {
  /** Local weekdays, 0 = Sunday. */
  days: readonly number[];
  /** Local "HH:MM" start and end (end after start, same day). */
  from: string;
  to: string;
}

export interface AgentProfile {
  id: string;
  shifts: readonly Shift[];
  /** Median seconds to answer a waiting customer when the agent has nothing else open. */
  medianResponseSeconds: number;
}

const WEEKDAYS = [1, 2, 3, 4, 5];

/** The team: an early, a middle and a late shift on weekdays, a smaller weekend crew, nobody at night. */
export const AGENTS: readonly AgentProfile[] = [
  { id: 'anna', shifts: [{ days: WEEKDAYS, from: '07:00', to: '15:00' }], medianResponseSeconds: 30 },
  { id: 'ben', shifts: [{ days: WEEKDAYS, from: '07:00', to: '15:00' }], medianResponseSeconds: 45 },
  { id: 'chiara', shifts: [{ days: WEEKDAYS, from: '10:00', to: '18:00' }], medianResponseSeconds: 35 },
  {
    id: 'deniz',
    shifts: [
      { days: WEEKDAYS, from: '14:00', to: '22:00' },
      { days: [6], from: '10:00', to: '18:00' },
    ],
    medianResponseSeconds: 40,
  },
  {
    id: 'emil',
    shifts: [
      { days: WEEKDAYS, from: '14:00', to: '22:00' },
      { days: [0], from: '12:00', to: '20:00' },
    ],
    medianResponseSeconds: 55,
  },
  { id: 'fatou', shifts: [{ days: [4, 5, 6, 0], from: '16:00', to: '22:00' }], medianResponseSeconds: 25 },
];

/** Each agent takes one break per shift, this long, somewhere in the middle. */
export const BREAK_MINUTES = 20;
