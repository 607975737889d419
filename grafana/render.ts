/**
 * Renders dashboard specs (grafana/specs/*.ts) into the classic dashboard JSON that Grafana
 * provisions. Conventions: datasources come from variables (`${datasource}` for Prometheus,
 * `${postgres}` for PostgreSQL), never a hard-coded uid; dashboard uids are stable; rows and
 * panels are laid out left to right, 24 columns wide.
 *
 * Every dashboard has `job` and `instance` variables, listed from whatsapp_exporter_build_info
 * (so any scrape job name works), and every query of the exporter's metrics is filtered by them.
 * A dashboard with the `business_number` variable also filters the families that carry that
 * label (BUSINESS_NUMBER_FAMILIES) by it.
 */
import { familyOf, withMatchers } from '../prometheus/promql.ts';

export const FOLDER = 'WhatsApp helpdesk';
export const TAG = 'whatsapp-helpdesk';
export const PROMETHEUS = { type: 'prometheus', uid: '${datasource}' } as const;
export const POSTGRES = { type: 'grafana-postgresql-datasource', uid: '${postgres}' } as const;

type Json = Record<string, unknown>;
type Datasource = typeof PROMETHEUS | typeof POSTGRES;

export interface PromTarget {
  expr: string;
  legend?: string;
  /** Instant query (stats, tables, bar gauges); range query otherwise. */
  instant?: boolean;
}
export interface SqlTarget {
  sql: string;
}

export interface PanelSpec {
  type: 'stat' | 'timeseries' | 'bargauge' | 'table' | 'piechart' | 'state-timeline' | 'gauge';
  title: string;
  description: string;
  unit: string;
  w: number;
  h: number;
  prom?: PromTarget[];
  sql?: SqlTarget[];
  /** [color, from value] steps after the base color. */
  thresholds?: { base: string; steps: [string, number][] };
  min?: number;
  max?: number;
  decimals?: number;
  options?: Json;
  custom?: Json;
  mappings?: Json[];
  overrides?: Json[];
  /** Field color mode, when not the type's default (thresholds for single values, the palette for series). */
  color?: string;
}

// ---- rendering -------------------------------------------------------------------------------------

export type Variable = 'datasource' | 'postgres' | 'agent' | 'category' | 'business_number';

/** The metric families with a `business_number` label (src/metrics/conversations.ts, conversation-gauges.ts). */
export const BUSINESS_NUMBER_FAMILIES: ReadonlySet<string> = new Set([
  'whatsapp_conversations_opened_total',
  'whatsapp_conversations_resolved_total',
  'whatsapp_first_response_seconds',
  'whatsapp_first_response_business_seconds',
  'whatsapp_resolution_seconds',
  'whatsapp_resolution_business_seconds',
  'whatsapp_open_conversations',
  'whatsapp_waiting_conversations',
]);
const BUSINESS_NUMBER_MATCHER = 'business_number=~"$business_number"';

/** The matchers a dashboard adds to one metric's selectors, beyond job and instance. */
function variableMatchers(variables: readonly Variable[]): (metric: string) => string[] {
  if (!variables.includes('business_number')) return () => [];
  return (metric) => (BUSINESS_NUMBER_FAMILIES.has(familyOf(metric)) ? [BUSINESS_NUMBER_MATCHER] : []);
}

/** The scrape targets a dashboard shows: variables every dashboard has, and the matchers they add to each query. */
const TARGET_VARIABLES = ['job', 'instance'] as const;
export const TARGET_MATCHERS = ['job=~"$job"', 'instance=~"$instance"'];
const BUILD_INFO = 'whatsapp_exporter_build_info';
export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  panels: (PanelSpec | { row: string })[];
}

/** A field override giving the series `name` a fixed colour: 'name:color'. */
export function colorOverride(spec: string): Json {
  const [name, color] = spec.split(':');
  return { matcher: { id: 'byName', options: name }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }] };
}

/** A variable that picks a data source of one plugin type (`query` is the plugin id). */
function datasourceVariable(name: string, label: string, pluginId: string): Json {
  return {
    name,
    label,
    type: 'datasource',
    query: pluginId,
    current: {},
    hide: 0,
    refresh: 1,
    regex: '',
    includeAll: false,
    multi: false,
    options: [],
  };
}

function queryVariable(name: string, label: string, query: string, allValue?: string): Json {
  return {
    name,
    label,
    type: 'query',
    datasource: PROMETHEUS,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2,
    includeAll: true,
    multi: true,
    ...(allValue !== undefined ? { allValue } : {}),
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    sort: 1,
    options: [],
    regex: '',
  };
}

function variable(name: Variable | (typeof TARGET_VARIABLES)[number]): Json {
  switch (name) {
    // "All" is the list of the exporter's own jobs and instances (no allValue): `.*` would also
    // select other programs' process_* metrics.
    case 'job':
      return queryVariable('job', 'Job', `label_values(${BUILD_INFO}, job)`);
    case 'instance':
      return queryVariable('instance', 'Instance', `label_values(${BUILD_INFO}{job=~"$job"}, instance)`);
    case 'datasource':
      return datasourceVariable(name, 'Prometheus', 'prometheus');
    case 'postgres':
      return datasourceVariable(name, 'PostgreSQL', 'grafana-postgresql-datasource');
    // Listed from a gauge zero-filled for every known business number; "All" also matches series
    // without the label (an exporter older than the label).
    case 'business_number':
      return queryVariable(
        name,
        'Business number',
        `label_values(${withMatchers('whatsapp_open_conversations', TARGET_MATCHERS)}, business_number)`,
        '.*',
      );
    case 'agent':
    case 'category': {
      const metric = name === 'agent' ? 'whatsapp_agent_online' : 'whatsapp_conversations_resolved_total';
      return queryVariable(
        name,
        name === 'agent' ? 'Agent' : 'Category',
        `label_values(${withMatchers(metric, TARGET_MATCHERS)}, ${name})`,
        '.*',
      );
    }
  }
}

export function renderDashboard(spec: DashboardSpec): Json {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let id = 0;
  const panels: Json[] = [];
  for (const item of spec.panels) {
    id += 1;
    if ('row' in item) {
      if (x > 0) y += rowHeight;
      x = 0;
      rowHeight = 0;
      panels.push({ id, type: 'row', title: item.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
      y += 1;
      continue;
    }
    if (x + item.w > 24) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    panels.push(renderPanel(item, id, { h: item.h, w: item.w, x, y }, variableMatchers(spec.variables)));
    x += item.w;
    rowHeight = Math.max(rowHeight, item.h);
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [TAG],
    editable: false,
    graphTooltip: 1,
    timezone: 'browser',
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [
      {
        type: 'dashboards',
        tags: [TAG],
        asDropdown: true,
        title: 'WhatsApp helpdesk',
        includeVars: false,
        keepTime: true,
        targetBlank: false,
        icon: 'external link',
        tooltip: '',
        url: '',
      },
    ],
    templating: { list: withTargetVariables(spec.variables).map(variable) },
    panels,
  };
}

/** The spec's variables with job and instance right after the Prometheus datasource. */
function withTargetVariables(variables: Variable[]): (Variable | (typeof TARGET_VARIABLES)[number])[] {
  const at = variables.indexOf('datasource') + 1;
  return [...variables.slice(0, at), ...TARGET_VARIABLES, ...variables.slice(at)];
}

function renderPanel(p: PanelSpec, id: number, gridPos: Json, extraMatchers: (metric: string) => string[]): Json {
  const datasource: Datasource = p.sql ? POSTGRES : PROMETHEUS;
  const thresholds = p.thresholds ?? { base: 'green', steps: [] };
  const targets = p.sql
    ? p.sql.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource,
        editorMode: 'code',
        format: 'table',
        rawQuery: true,
        rawSql: t.sql,
      }))
    : (p.prom ?? []).map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource,
        editorMode: 'code',
        expr: withMatchers(t.expr, TARGET_MATCHERS, extraMatchers),
        legendFormat: t.legend ?? '__auto',
        instant: t.instant ?? false,
        range: !(t.instant ?? false),
        ...(p.type === 'table' ? { format: 'table' } : {}),
      }));
  const custom: Json = {
    ...(p.type === 'timeseries' ? { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false } : {}),
    ...p.custom,
  };
  const options: Json = {
    stat: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
    gauge: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, showThresholdMarkers: true },
    bargauge: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      showUnfilled: true,
      minVizHeight: 10,
      minVizWidth: 0,
      namePlacement: 'auto',
      sizing: 'auto',
      valueMode: 'color',
    },
    timeseries: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    table: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false, fields: '' } },
    piechart: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      pieType: 'donut',
      legend: { displayMode: 'table', placement: 'right', showLegend: true, values: ['value', 'percent'] },
      tooltip: { mode: 'single', sort: 'none' },
    },
    'state-timeline': { legend: { displayMode: 'list', placement: 'bottom', showLegend: false }, rowHeight: 0.9, alignValue: 'left' },
  }[p.type];
  return {
    id,
    type: p.type,
    title: p.title,
    description: p.description,
    datasource,
    gridPos,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        ...(p.min !== undefined ? { min: p.min } : {}),
        ...(p.max !== undefined ? { max: p.max } : {}),
        ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
        color: {
          mode:
            p.color ?? (p.type === 'timeseries' || p.type === 'piechart' || p.type === 'state-timeline' ? 'palette-classic' : 'thresholds'),
        },
        thresholds: {
          mode: 'absolute',
          steps: [{ color: thresholds.base, value: null }, ...thresholds.steps.map(([color, value]) => ({ color, value }))],
        },
        mappings: p.mappings ?? [],
        custom,
      },
      overrides: p.overrides ?? [],
    },
    options: { ...options, ...p.options },
    targets,
  };
}
