/**
 * The docker compose stack, without a Docker engine: docker-compose validates the file (with
 * .env.example as its .env); every file the stack mounts exists and is the file the other tests
 * prove (prometheus.yml and the rules in alerting.test.ts and dashboards.test.ts, the dashboards
 * and provisioning here and in dashboards.test.ts); the service names and ports the
 * configuration files point at are the stack's; and the image is multi-stage, non-root and
 * health-checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderDashboardFiles } from '../grafana/dashboards.ts';
import { RULES_FILE } from '../prometheus/generate.ts';
import { skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
type Json = Record<string, any>;
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, Json>;
  volumes: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
};

/** Bind mounts of every service: repository path → container path. */
const mounts = Object.entries(compose.services).flatMap(([service, spec]) =>
  ((spec.volumes ?? []) as string[])
    .filter((v) => v.startsWith('./'))
    .map((v) => {
      const [source, target, mode] = v.split(':');
      return { service, source: source!.slice(2), target: target!, mode };
    }),
);
const mountOf = (source: string) => mounts.find((m) => m.source === source);

describe('docker compose stack', () => {
  it('mounts only files that exist, read-only, including everything the other tests prove', () => {
    for (const mount of mounts) {
      assert.ok(existsSync(join(ROOT, mount.source)), `${mount.service}: ${mount.source} exists`);
      assert.equal(mount.mode, 'ro', `${mount.service}: ${mount.source} is mounted read-only`);
    }
    for (const required of [
      'prometheus/prometheus.yml',
      'prometheus/rules',
      'prometheus/alertmanager.yml',
      'grafana/provisioning',
      'grafana/dashboards',
    ]) {
      assert.ok(mountOf(required), `the stack mounts ${required}`);
    }
    // The rules Prometheus loads are the generated, tested rule file.
    const rulesDir = join(ROOT, 'prometheus/rules');
    assert.deepEqual(readdirSync(rulesDir), [basename(RULES_FILE)]);
    assert.equal(join(rulesDir, basename(RULES_FILE)), RULES_FILE);
    // The dashboards Grafana loads are exactly the generated ones that dashboards.test.ts queries.
    assert.deepEqual(readdirSync(join(ROOT, 'grafana/dashboards')).sort(), [...renderDashboardFiles().keys()].sort());
  });

  it('wires the configuration files to the services and ports of the stack', () => {
    const services = Object.keys(compose.services);
    for (const name of ['postgres', 'exporter', 'prometheus', 'alertmanager', 'alert-webhook', 'grafana', 'simulator'])
      assert.ok(services.includes(name), name);
    assert.deepEqual(compose.services.simulator!.profiles, ['demo']);

    // Prometheus: the config and the rules directory land where rule_files points.
    const prom = parse(read('prometheus/prometheus.yml'));
    const promConfig = mountOf('prometheus/prometheus.yml')!.target;
    assert.ok(compose.services.prometheus!.command.includes(`--config.file=${promConfig}`));
    for (const pattern of prom.rule_files as string[]) {
      assert.equal(
        posix.join(posix.dirname(promConfig), posix.dirname(pattern)),
        mountOf('prometheus/rules')!.target,
        `rule_files ${pattern}`,
      );
    }
    assert.deepEqual(prom.scrape_configs[0].static_configs[0].targets, ['exporter:8080']);
    assert.deepEqual(prom.alerting.alertmanagers[0].static_configs[0].targets, ['alertmanager:9093']);
    assert.ok(compose.services.exporter!.ports.some((p: string) => p.endsWith(':8080')));

    // Alertmanager: its config is the mounted one; its webhooks go to the alert-webhook service.
    assert.ok(compose.services.alertmanager!.command.includes(`--config.file=${mountOf('prometheus/alertmanager.yml')!.target}`));
    const am = parse(read('prometheus/alertmanager.yml'));
    for (const receiver of am.receivers as Json[]) {
      for (const hook of receiver.webhook_configs ?? []) assert.match(hook.url, /^http:\/\/alert-webhook:9099\//);
    }
    assert.match(read('docker/alert-webhook.mjs'), /PORT \|\| 9099/);

    // Grafana: provisioning and dashboards where the provider looks, datasources pointing at the services.
    assert.equal(mountOf('grafana/provisioning')!.target, '/etc/grafana/provisioning');
    const provider = parse(read('grafana/provisioning/dashboards/provider.yaml'));
    assert.equal(provider.providers[0].options.path, mountOf('grafana/dashboards')!.target);
    assert.ok(
      compose.services.grafana!.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH.startsWith(
        `${mountOf('grafana/dashboards')!.target}/`,
      ),
    );
    const datasources = parse(read('grafana/provisioning/datasources/datasources.yaml')).datasources as Json[];
    const byType = Object.fromEntries(datasources.map((d) => [d.type, d]));
    assert.equal(byType.prometheus.uid, 'prometheus');
    assert.equal(byType.prometheus.url, 'http://prometheus:9090');
    assert.equal(byType.alertmanager.url, 'http://alertmanager:9093');
    assert.equal(byType['grafana-postgresql-datasource'].url, 'postgres:5432');
    assert.equal(byType['grafana-postgresql-datasource'].user, 'whatsapp_readonly');
    // The datasources file reads its secrets from Grafana's environment, never inline.
    const referenced = [...read('grafana/provisioning/datasources/datasources.yaml').matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!);
    assert.ok(referenced.includes('POSTGRES_READONLY_PASSWORD'));
    for (const name of referenced) assert.ok(name in compose.services.grafana!.environment, `grafana gets ${name}`);
    // The dashboards' datasource variables select these types.
    for (const file of renderDashboardFiles().values()) {
      for (const variable of JSON.parse(file).templating.list as Json[]) {
        if (variable.type === 'datasource') assert.ok(byType[variable.query], `a ${variable.query} datasource is provisioned`);
      }
    }
    // The read-only role Grafana logs in with is the one the init script creates, with the SQL
    // file an administrator runs elsewhere (test/least-privilege.test.ts runs it).
    const init = mountOf('docker/postgres/init-readonly.sh')!;
    assert.equal(init.target, '/docker-entrypoint-initdb.d/10-readonly.sh');
    const sql = mountOf('deploy/sql/readonly-role.sql')!;
    assert.equal(sql.service, 'postgres');
    assert.match(read(init.source), new RegExp(`-f ${sql.target}`));
    assert.match(read(sql.source), /CREATE ROLE whatsapp_readonly LOGIN/);
    assert.ok(statSync(join(ROOT, init.source)).mode & 0o100, 'the init script is executable');

    // METRICS_TOKEN: one compose secret, the exporter's METRICS_TOKEN_FILE and Prometheus' credentials_file.
    assert.equal(compose.secrets?.metrics_token?.file, './secrets/metrics_token');
    for (const service of ['exporter', 'prometheus']) assert.ok(compose.services[service]!.secrets.includes('metrics_token'), service);
    assert.equal(compose.services.exporter!.environment.METRICS_TOKEN_FILE, '/run/secrets/metrics_token');
    assert.deepEqual(prom.scrape_configs[0].authorization, { type: 'Bearer', credentials_file: '/run/secrets/metrics_token' });
    assert.match(read('.gitignore'), /^secrets\/$/m);
    // A supported Prometheus 3 (and the simulator runs the compiled program, like the exporter).
    assert.match(compose.services.prometheus!.image, /^prom\/prometheus:v3\.\d+\.\d+$/);
    assert.equal(compose.services.simulator!.command[1], 'dist/demo/simulate.js');
  });

  it('takes every secret from .env, documented in .env.example, with nothing secret inline', () => {
    const text = read('docker-compose.yml');
    const used = new Set([...text.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]!));
    const documented = new Set([...read('.env.example').matchAll(/^#?\s*([A-Z_]+)=/gm)].map((m) => m[1]!));
    for (const name of used) assert.ok(documented.has(name), `.env.example documents ${name}`);
    for (const secret of [
      'POSTGRES_PASSWORD',
      'POSTGRES_READONLY_PASSWORD',
      'WHATSAPP_APP_SECRET',
      'WHATSAPP_VERIFY_TOKEN',
      'EVENTS_API_TOKEN',
      'GRAFANA_ADMIN_PASSWORD',
    ]) {
      assert.match(text, new RegExp(`\\$\\{${secret}:\\?`), `${secret} is required, not defaulted`);
    }
    assert.doesNotMatch(read('.gitignore'), /^\.env\.example$/m);
    assert.match(read('.gitignore'), /^\.env$/m);
  });

  it('builds a small, non-root, health-checked image', () => {
    const dockerfile = read('Dockerfile');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK [\s\S]*\/readyz/m, 'healthy means ready');
    assert.match(dockerfile, /^RUN npm run build$/m, 'compiled in a build stage');
    assert.match(dockerfile, /^COPY --from=build \/app\/dist \.\/dist$/m);
    assert.match(dockerfile, /^CMD \["node", (?:"--[\w=-]+", )*"dist\/main\.js"\]$/m, 'runs compiled JavaScript (node flags allowed)');
    assert.doesNotMatch(dockerfile.replace(/^#.*$/gm, ''), /tsx/, 'no tsx at run time');
    for (const [, version] of dockerfile.matchAll(/^FROM node:(\d+)/gm))
      assert.ok(['22', '24'].includes(version!), `a supported Node (22 or 24), not ${version}`);
    for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) assert.ok(existsSync(join(ROOT, source!)), `COPY ${source}`);
    const ignore = read('.dockerignore');
    assert.match(ignore, /^\*$/m, '.dockerignore admits only what the image needs');
    assert.doesNotMatch(ignore, /^!\.env/m);
  });

  it('passes docker-compose config, with and without the demo profile', { skip: skipUnless('docker-compose') }, () => {
    const run = (args: string[]) =>
      spawnSync('docker-compose', ['--env-file', '.env.example', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
      });
    const quiet = run(['config', '--quiet']);
    assert.equal(quiet.status, 0, quiet.stderr);
    const demo = run(['--profile', 'demo', 'config', '--services']);
    assert.equal(demo.status, 0, demo.stderr);
    assert.deepEqual(demo.stdout.trim().split('\n').sort(), [
      'alert-webhook',
      'alertmanager',
      'exporter',
      'grafana',
      'postgres',
      'prometheus',
      'simulator',
    ]);
  });
});
