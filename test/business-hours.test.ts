/** Business hours: validation with exact errors, and business seconds across nights, weekends, holidays and DST. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALWAYS_OPEN, parseBusinessHours, type BusinessCalendar } from '../src/config/business-hours.ts';

function calendar(doc: unknown): BusinessCalendar {
  const result = parseBusinessHours(doc);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.calendar;
}

const berlin = calendar({
  timezone: 'Europe/Berlin',
  weekly: {
    mon: ['09:00-12:00', '13:00-17:00'],
    tue: ['09:00-12:00', '13:00-17:00'],
    wed: ['09:00-17:00'],
    thu: ['09:00-17:00'],
    fri: ['09:00-17:00'],
    sun: [],
  },
  holidays: ['2026-12-24'],
});
const s = (from: string, to: string, cal = berlin) => cal.businessSeconds(new Date(from), new Date(to));

describe('business seconds', () => {
  it('counts only open hours, across the lunch break and the night', () => {
    assert.equal(s('2026-11-23T08:00:00Z', '2026-11-23T09:00:00Z'), 3600); // Mon 09:00-10:00 CET
    assert.equal(s('2026-11-23T10:30:00Z', '2026-11-23T12:30:00Z'), 3600); // 11:30-13:30: lunch 12-13 excluded
    assert.equal(s('2026-11-23T15:55:00Z', '2026-11-24T08:05:00Z'), 600); // 16:55 Mon → 09:05 Tue
  });

  it('skips weekends and holidays', () => {
    assert.equal(s('2026-11-27T15:00:00Z', '2026-11-30T09:00:00Z'), 3600 + 3600 * 1); // Fri 16-17 and Mon 09-10 local
    assert.equal(s('2026-12-23T15:00:00Z', '2026-12-25T09:00:00Z'), 3600 + 3600); // Wed 16-17, Thu 24th closed, Fri 09-10
  });

  it('follows daylight saving time in the zone', () => {
    // 2026-03-30 is a Monday in CEST (UTC+2): 09:00 local is 07:00Z.
    assert.equal(s('2026-03-30T07:00:00Z', '2026-03-30T08:00:00Z'), 3600);
    assert.equal(s('2026-03-30T06:00:00Z', '2026-03-30T07:00:00Z'), 0);
  });

  it('tells whether an instant is inside business hours', () => {
    assert.equal(berlin.isOpen(new Date('2026-11-23T08:30:00Z')), true); // Mon 09:30 CET
    assert.equal(berlin.isOpen(new Date('2026-11-23T11:30:00Z')), false); // lunch
    assert.equal(berlin.isOpen(new Date('2026-11-28T10:00:00Z')), false); // Saturday
    assert.equal(ALWAYS_OPEN.isOpen(new Date('2026-11-28T10:00:00Z')), true);
  });

  it('keeps counting over long spans: 98 weeks of 40 hours are 14,112,000 s (the timeline issue, item 9)', () => {
    const office = calendar({
      timezone: 'Europe/Berlin',
      weekly: { mon: ['09:00-17:00'], tue: ['09:00-17:00'], wed: ['09:00-17:00'], thu: ['09:00-17:00'], fri: ['09:00-17:00'] },
    });
    const from = new Date('2024-01-01T00:00:00Z');
    assert.equal(office.businessSeconds(from, new Date(from.getTime() + 98 * 7 * 86_400_000)), 98 * 5 * 8 * 3600);
  });

  it('is calendar time when BUSINESS_HOURS is unset, and zero for a reversed interval', () => {
    assert.equal(s('2026-11-28T00:00:00Z', '2026-11-28T01:00:00Z', ALWAYS_OPEN), 3600);
    assert.equal(s('2026-11-23T10:00:00Z', '2026-11-23T09:00:00Z'), 0);
  });
});

describe('parseBusinessHours', () => {
  const table: [unknown, string[]][] = [
    [[], ['expected an object with "timezone", "weekly" and optional "holidays"']],
    [{ timezone: 'Mars/Olympus', weekly: {} }, ['timezone: "Mars/Olympus" is not an IANA time zone — e.g. "Europe/Berlin"']],
    [{ timezone: 'UTC', weekly: { monday: [] } }, ['weekly.monday: unknown day — expected one of sun, mon, tue, wed, thu, fri, sat']],
    [{ timezone: 'UTC', weekly: { mon: ['9-5'] } }, ['weekly.mon[0]: "9-5" is not a shift — expected "HH:MM-HH:MM", e.g. "09:00-17:30"']],
    [
      { timezone: 'UTC', weekly: { mon: ['22:00-02:00'] } },
      ['weekly.mon[0]: "22:00-02:00" ends before it starts (a shift cannot cross midnight; split it)'],
    ],
    [{ timezone: 'UTC', weekly: { mon: ['09:00-13:00', '12:00-17:00'] } }, ['weekly.mon: shifts overlap']],
    [{ timezone: 'UTC', weekly: {}, holidays: ['24.12.2026'] }, ['holidays[0]: "24.12.2026" is not a date — expected "YYYY-MM-DD"']],
    [{ timezone: 'UTC', weekly: {}, hollidays: [] }, ['hollidays: unknown key — expected timezone, weekly, holidays']],
  ];
  for (const [doc, errors] of table) {
    it(`rejects ${JSON.stringify(doc)}`, () => {
      assert.deepEqual(parseBusinessHours(doc), { ok: false, errors });
    });
  }
});
