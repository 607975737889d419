/** The Customer requests dashboard: categories, sentiment, peak hours and CSAT by category. */
import type { DashboardSpec } from '../render.ts';
import { SELECTORS } from '../../prometheus/thresholds.ts';
import { pct, T, TARGETS, targetBand, worseAbove } from './shared.ts';

const weekdays: [number, string][] = [
  [1, 'Mon'],
  [2, 'Tue'],
  [3, 'Wed'],
  [4, 'Thu'],
  [5, 'Fri'],
  [6, 'Sat'],
  [0, 'Sun'],
];

export const requests: DashboardSpec = {
  uid: 'whatsapp-helpdesk-requests',
  title: 'WhatsApp helpdesk / Customer requests',
  description:
    'What customers ask about and how they feel: categories, sentiment by category, when they write, and the slowest and angriest conversations.',
  variables: ['datasource', 'postgres', 'category'],
  panels: [
    {
      type: 'piechart',
      title: 'Requests by category',
      unit: 'short',
      w: 8,
      h: 8,
      description: 'Resolved conversations by request category (from the keyword rules or the helpdesk), over the selected range.',
      prom: [
        {
          expr: 'sum by (category) (increase(whatsapp_conversations_resolved_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
    },
    {
      type: 'bargauge',
      title: 'Negative messages by category',
      unit: 'percentunit',
      w: 8,
      h: 8,
      min: 0,
      max: 1,
      description:
        'Share of customer messages with negative sentiment, per category, over the selected range. Categories where customers are most unhappy stand out.',
      prom: [
        {
          expr: 'sum by (category) (increase(whatsapp_inbound_sentiment_total{category=~"$category", polarity="negative"}[$__range])) / sum by (category) (increase(whatsapp_inbound_sentiment_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', 0.2], ['red', 0.4]),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'bargauge',
      title: 'CSAT by category',
      unit: 'percentunit',
      w: 8,
      h: 8,
      min: 0,
      max: 1,
      description: `Share of 4 and 5 CSAT answers per category over the selected range. ${TARGETS.csat.kpi}: red below ${pct(TARGETS.csat.value)}, green in the band, blue above it.`,
      prom: [
        {
          expr: 'sum by (category) (increase(whatsapp_csat_responses_total{category=~"$category", score=~"4|5"}[$__range])) / sum by (category) (increase(whatsapp_csat_responses_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
      thresholds: targetBand(TARGETS.csat, 'red', 'blue'),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'timeseries',
      title: 'Sentiment by category',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Customer messages per hour by category and sentiment.',
      prom: [
        {
          expr: 'sum by (category, polarity) (rate(whatsapp_inbound_sentiment_total{category=~"$category"}[$__rate_interval])) * 3600',
          legend: '{{category}} {{polarity}}',
        },
      ],
    },
    {
      type: 'bargauge',
      title: 'First response p90 by category',
      unit: 's',
      w: 6,
      h: 8,
      description: `9 in 10 conversations of each category got their first answer within this time, over the selected range. Orange from the ${T('firstResponseTarget')} s target, red from ${T('waitingEscalation')} s.`,
      prom: [
        {
          expr: `histogram_quantile(0.9, sum by (le, category) (increase(whatsapp_first_response_seconds_bucket{category=~"$category"}[$__range])))`,
          legend: '{{category}}',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'bargauge',
      title: 'Bot containment by category',
      unit: 'percentunit',
      w: 6,
      h: 8,
      min: 0,
      max: 1,
      description: `Share of conversations the bot answered that never needed a human, per category, over the selected range. Routine categories (${SELECTORS.routineCategories.join(', ')}) should score high.`,
      prom: [
        {
          expr: '1 - sum by (category) (increase(whatsapp_bot_handovers_total{category=~"$category"}[$__range])) / sum by (category) (increase(whatsapp_bot_conversations_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'table',
      title: 'When customers write (weekday × hour)',
      unit: 'short',
      w: 24,
      h: 12,
      description:
        'Inbound customer messages per local hour (rows) and weekday (columns) in the business time zone, for the days of the selected range, from PostgreSQL. Darker cells are busier: plan shifts on it.',
      sql: [
        {
          sql: [
            'SELECT h.hour AS "Hour",',
            ...weekdays.map(
              ([dow, name], i) =>
                `       coalesce(sum(m.messages) FILTER (WHERE m.weekday = ${dow}), 0) AS "${name}"${i < weekdays.length - 1 ? ',' : ''}`,
            ),
            '  FROM generate_series(0, 23) AS h(hour)',
            '  LEFT JOIN analytics.messages_by_hour m',
            "    ON m.hour = h.hour AND m.direction = 'inbound' AND m.sender = 'customer'",
            "   AND m.category ~ '^(${category:regex})$'",
            '   AND m.day BETWEEN $__timeFrom()::date AND $__timeTo()::date',
            ' GROUP BY h.hour',
            ' ORDER BY h.hour',
          ].join('\n'),
        },
      ],
      custom: { cellOptions: { type: 'color-background', mode: 'gradient' }, align: 'center' },
      overrides: [
        {
          matcher: { id: 'byName', options: 'Hour' },
          properties: [
            { id: 'custom.cellOptions', value: { type: 'auto' } },
            { id: 'unit', value: 'none' },
          ],
        },
      ],
      color: 'continuous-GrYlRd',
    },
    {
      type: 'table',
      title: 'Message audit: slowest and angriest conversations',
      unit: 's',
      w: 24,
      h: 12,
      description: `Conversations opened in the selected range, negative ones first, then by the longest first response or current wait. From the analytics views: no phone numbers, no message text. Orange from ${T('firstResponseTarget')} s, red from ${T('waitingEscalation')} s.`,
      sql: [
        {
          sql: [
            'SELECT id AS "Conversation", opened_at AS "Opened", category AS "Category", sentiment AS "Sentiment", state AS "State",',
            '       assigned_agent AS "Agent", first_response_seconds AS "First response", waiting_seconds AS "Waiting now",',
            '       resolution_seconds AS "Resolution", resolved_by AS "Resolved by", reopen_count AS "Reopened", csat_score AS "CSAT"',
            '  FROM analytics.conversations',
            ' WHERE $__timeFilter(opened_at)',
            "   AND category ~ '^(${category:regex})$'",
            " ORDER BY (sentiment = 'negative') DESC, greatest(coalesce(first_response_seconds, 0), coalesce(waiting_seconds, 0)) DESC",
            ' LIMIT 50',
          ].join('\n'),
        },
      ],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
      overrides: [
        ...['Conversation', 'Reopened', 'CSAT'].map((name) => ({
          matcher: { id: 'byName', options: name },
          properties: [{ id: 'unit', value: 'none' }],
        })),
        ...['First response', 'Waiting now'].map((name) => ({
          matcher: { id: 'byName', options: name },
          properties: [{ id: 'custom.cellOptions', value: { type: 'color-text' } }],
        })),
        { matcher: { id: 'byName', options: 'Opened' }, properties: [{ id: 'unit', value: 'dateTimeAsIso' }] },
        {
          matcher: { id: 'byName', options: 'Sentiment' },
          properties: [
            {
              id: 'mappings',
              value: [{ type: 'value', options: { negative: { color: 'red', index: 0 }, positive: { color: 'green', index: 1 } } }],
            },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
      ],
    },
  ],
};
