/**
 * Where the simulated calendar starts (`--start`). By default at a busy weekday hour, Monday
 * 10:00 in the simulation's time zone, whatever the real time: a demo started at 02:40 must not
 * begin with a quiet night and nobody on shift.
 *
 *   now                 the real time (the daily rhythm then matches the clock)
 *   mon 10:00           the latest Monday 10:00 at or before now (any weekday, 24-hour time)
 *   2026-11-23T10:00    that local time in the time zone (or with Z / ±hh:mm, that instant)
 */

import { ZoneClock } from '../config/business-hours.ts';

export const DEFAULT_START = 'mon 10:00';

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEKDAY_TIME = /^(sun|mon|tue|wed|thu|fri|sat)[a-z]*[\s@,-]*([01]?\d|2[0-3]):([0-5]\d)$/i;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** The calendar start `text` describes, or an error naming what is expected. */
export function parseStart(text: string, timeZone: string, now: Date): { ok: true; start: Date } | { ok: false; error: string } {
  const value = text.trim();
  if (value.toLowerCase() === 'now') return { ok: true, start: now };
  const weekday = WEEKDAY_TIME.exec(value);
  if (weekday)
    return {
      ok: true,
      start: latestWeekdayTime(WEEKDAYS.indexOf(weekday[1]!.toLowerCase()), Number(weekday[2]), Number(weekday[3]), timeZone, now),
    };
  const local = LOCAL_DATE_TIME.exec(value);
  if (local) {
    const [y, mo, d, h, mi] = local.slice(1, 6).map(Number) as [number, number, number, number, number];
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return { ok: false, error: `"${text}" is not a date` };
    return { ok: true, start: zonedTime(y, mo, d, h, mi, Number(local[6] ?? 0), timeZone) };
  }
  if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)))
    return { ok: true, start: new Date(value) };
  return {
    ok: false,
    error: `"${text}" is not a start — expected now, a weekday and time (mon 10:00) or a date and time (2026-11-23T10:00)`,
  };
}

/** The latest moment at or before `now` that is `weekday` (0 = Sunday) at hh:mm local time in `timeZone`. */
export function latestWeekdayTime(weekday: number, hour: number, minute: number, timeZone: string, now: Date): Date {
  const clock = new ZoneClock(timeZone);
  const today = clock.wallClock(now.getTime());
  for (let back = 0; back <= 7; back++) {
    // Calendar arithmetic on the local date, at noon UTC so that no time-zone offset changes the day.
    const day = new Date(Date.UTC(today.y, today.m - 1, today.d - back, 12));
    if (day.getUTCDay() !== weekday) continue;
    const candidate = zonedTime(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), hour, minute, 0, timeZone);
    if (candidate.getTime() <= now.getTime()) return candidate;
  }
  throw new Error('unreachable: every weekday occurs within 8 days');
}

/** The instant at which the clock in `timeZone` shows the given local date and time. */
export function zonedTime(year: number, month: number, day: number, hour: number, minute: number, second: number, timeZone: string): Date {
  return new Date(new ZoneClock(timeZone).toUtc(Date.UTC(year, month - 1, day, hour, minute, second)));
}
