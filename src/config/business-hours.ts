/**
 * Business hours: a time zone, a weekly schedule (split shifts allowed) and holidays, read from
 * BUSINESS_HOURS. `businessSeconds(from, to)` counts only the time inside open hours, so that a
 * message at 18:55 answered at 09:05 the next morning took 10 business minutes, not 14 hours.
 *
 *   { "timezone": "Europe/Berlin",
 *     "weekly": { "mon": ["09:00-12:00", "13:00-17:30"], "tue": ["09:00-17:30"], "sat": [] },
 *     "holidays": ["2026-12-24", "2026-12-25"] }
 *
 * Days left out of `weekly` are closed. Without BUSINESS_HOURS every second counts.
 */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
type Weekday = (typeof WEEKDAYS)[number];

/** A shift as minutes after local midnight, [start, end). */
type Shift = readonly [number, number];

export interface BusinessCalendar {
  readonly timezone: string;
  businessSeconds(from: Date, to: Date): number;
  /** Whether `at` falls inside business hours. */
  isOpen(at: Date): boolean;
}

/** Every second counts: the calendar used when BUSINESS_HOURS is unset. */
export const ALWAYS_OPEN: BusinessCalendar = {
  timezone: 'UTC',
  businessSeconds: (from, to) => Math.max(0, (to.getTime() - from.getTime()) / 1000),
  isOpen: () => true,
};

export type ParseResult = { ok: true; calendar: BusinessCalendar } | { ok: false; errors: string[] };

const SHIFT = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validates a BUSINESS_HOURS document; errors name the place and what is expected. */
export function parseBusinessHours(doc: unknown): ParseResult {
  const errors: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, errors: ['expected an object with "timezone", "weekly" and optional "holidays"'] };
  }
  const { timezone, weekly, holidays, ...rest } = doc as Record<string, unknown>;
  for (const key of Object.keys(rest)) errors.push(`${key}: unknown key — expected timezone, weekly, holidays`);
  if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
    errors.push(`timezone: ${JSON.stringify(timezone)} is not an IANA time zone — e.g. "Europe/Berlin"`);
  }
  const schedule = new Map<Weekday, Shift[]>();
  if (typeof weekly !== 'object' || weekly === null || Array.isArray(weekly)) {
    errors.push('weekly: expected an object of days ("mon" … "sun") to lists of "HH:MM-HH:MM" shifts');
  } else {
    for (const [day, shifts] of Object.entries(weekly)) {
      if (!(WEEKDAYS as readonly string[]).includes(day)) {
        errors.push(`weekly.${day}: unknown day — expected one of ${WEEKDAYS.join(', ')}`);
        continue;
      }
      if (!Array.isArray(shifts)) {
        errors.push(`weekly.${day}: expected a list of "HH:MM-HH:MM" shifts`);
        continue;
      }
      const parsed: Shift[] = [];
      shifts.forEach((text, i) => {
        const m = typeof text === 'string' ? SHIFT.exec(text) : null;
        const start = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
        const end = m ? Number(m[3]) * 60 + Number(m[4]) : NaN;
        if (!m || Number(m[2]) > 59 || Number(m[4]) > 59 || start > 1440 || end > 1440) {
          errors.push(`weekly.${day}[${i}]: ${JSON.stringify(text)} is not a shift — expected "HH:MM-HH:MM", e.g. "09:00-17:30"`);
        } else if (end <= start) {
          errors.push(`weekly.${day}[${i}]: "${text}" ends before it starts (a shift cannot cross midnight; split it)`);
        } else {
          parsed.push([start, end]);
        }
      });
      parsed.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < parsed.length; i++) {
        if (parsed[i]![0] < parsed[i - 1]![1]) errors.push(`weekly.${day}: shifts overlap`);
      }
      schedule.set(day as Weekday, parsed);
    }
  }
  const closed = new Set<string>();
  if (holidays !== undefined) {
    if (!Array.isArray(holidays)) errors.push('holidays: expected a list of "YYYY-MM-DD" dates');
    else
      holidays.forEach((d, i) => {
        const m = typeof d === 'string' ? DATE.exec(d) : null;
        if (!m || Number.isNaN(Date.parse(`${d}T00:00:00Z`)))
          errors.push(`holidays[${i}]: ${JSON.stringify(d)} is not a date — expected "YYYY-MM-DD"`);
        else closed.add(d as string);
      });
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, calendar: new ScheduleCalendar(timezone as string, schedule, closed) };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Longest span counted (walked day by day, exact across holidays and DST): ten years, far beyond
 * any conversation; a longer span counts its first ten years.
 */
const MAX_DAYS_WALKED = 3_653;

/** Reads wall clocks in one time zone (shared with the demo's calendar start, src/demo/calendar.ts). */
export class ZoneClock {
  private readonly parts: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** The zone's wall clock at instant ts. */
  wallClock(ts: number) {
    const get = (type: string) => Number(this.parts.formatToParts(new Date(ts)).find((p) => p.type === type)!.value);
    return { y: get('year'), m: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
  }

  /** The UTC instant at which the zone's clock shows `wall` (a wall-clock time written as if it were UTC). */
  toUtc(wall: number): number {
    let utc = wall - this.offset(wall);
    const corrected = wall - this.offset(utc);
    if (corrected !== utc) utc = corrected;
    return utc;
  }

  /** Milliseconds the zone is ahead of UTC at instant ts. */
  private offset(ts: number): number {
    const w = this.wallClock(ts);
    return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(ts / 1000) * 1000;
  }
}

class ScheduleCalendar implements BusinessCalendar {
  private readonly clock: ZoneClock;

  constructor(
    readonly timezone: string,
    private readonly schedule: Map<Weekday, Shift[]>,
    private readonly holidays: Set<string>,
  ) {
    this.clock = new ZoneClock(timezone);
  }

  businessSeconds(from: Date, to: Date): number {
    if (to <= from) return 0;
    const first = this.localDate(new Date(from.getTime() - 86_400_000));
    const last = this.localDate(new Date(to.getTime() + 86_400_000));
    let total = 0;
    let day = Date.UTC(first.y, first.m - 1, first.d);
    const end = Math.min(Date.UTC(last.y, last.m - 1, last.d), day + MAX_DAYS_WALKED * 86_400_000);
    for (; day <= end; day += 86_400_000) {
      const date = new Date(day);
      const iso = date.toISOString().slice(0, 10);
      if (this.holidays.has(iso)) continue;
      for (const [startMin, endMin] of this.schedule.get(WEEKDAYS[date.getUTCDay()]!) ?? []) {
        const open = this.toUtc(date, startMin);
        const close = this.toUtc(date, endMin);
        const overlap = Math.min(close, to.getTime()) - Math.max(open, from.getTime());
        if (overlap > 0) total += overlap;
      }
    }
    return total / 1000;
  }

  isOpen(at: Date): boolean {
    return this.businessSeconds(at, new Date(at.getTime() + 1000)) > 0;
  }

  private localDate(instant: Date): { y: number; m: number; d: number } {
    const p = this.clock.wallClock(instant.getTime());
    return { y: p.y, m: p.m, d: p.d };
  }

  /** The UTC instant of a local wall-clock time (minutes after midnight) on a calendar date. */
  private toUtc(date: Date, minutes: number): number {
    return this.clock.toUtc(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) + minutes * 60_000);
  }
}
