/**
 * The Kubernetes manifests (deploy/kubernetes/) as `kubectl apply -k` would send them: rendered
 * with `kubectl kustomize`, every object validated against the Kubernetes and Prometheus Operator
 * schemas (kubernetes-models), and wired together: probes, non-root security context, secrets
 * only from the Secret (read through *_FILE, which the exporter's own config loader accepts),
 * a ServiceMonitor that finds the Service with the metrics token, a PrometheusRule holding the
 * repository's rules, and the dashboards as ConfigMaps for the Grafana sidecar.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { renderDashboardFiles } from '../grafana/dashboards.ts';
import { DEFAULT_CONFIG } from '../prometheus/config.ts';
import { ruleGroups } from '../prometheus/rules.ts';
import { loadConfig } from '../src/config/config.ts';
import { SECRET_SETTINGS } from '../src/config/settings.ts';
import { findTool, skipUnless } from './support/tools.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
type Json = Record<string, any>;

/** Every kind the manifests may contain, with its schema. An object of another kind fails the test. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

describe('Kubernetes manifests (kubectl kustomize deploy/kubernetes)', { skip: skipUnless('kubectl') }, () => {
  let objects: Json[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'wa-k8s-'));
  before(() => {
    const rendered = spawnSync(findTool('kubectl') ?? 'kubectl', ['kustomize', join(ROOT, 'deploy/kubernetes')], { encoding: 'utf8' });
    assert.equal(rendered.status, 0, rendered.stderr);
    objects = parseAllDocuments(rendered.stdout).map((d) => d.toJSON() as Json);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const one = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0]!;
  };

  it('every object is valid against the Kubernetes and Prometheus Operator schemas', () => {
    assert.ok(objects.length >= 9);
    for (const object of objects) {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      assert.ok(model, `${object.apiVersion} ${object.kind} has a schema to check against`);
      assert.doesNotThrow(() => new model!(object).validate(), `${object.kind}/${object.metadata?.name}`);
      assert.equal(object.metadata.labels['app.kubernetes.io/name'], 'whatsapp-helpdesk-exporter', `${object.kind} is labelled`);
      assert.equal(object.metadata.namespace, undefined, "the namespace is the overlay's choice");
    }
    // The check itself rejects what is wrong.
    const broken = structuredClone(one('Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    assert.throws(() => new Deployment(broken).validate(), /containerPort/);
    const badMonitor = structuredClone(one('ServiceMonitor'));
    badMonitor.spec.endpoints[0].interval = 'every 15 seconds';
    assert.throws(() => new ServiceMonitor(badMonitor as ConstructorParameters<typeof ServiceMonitor>[0]).validate(), /interval/);
  });

  it('the Deployment: replicas, probes on /healthz and /readyz, resources, non-root', () => {
    const deployment = one('Deployment');
    assert.ok(deployment.spec.replicas >= 2, 'more than one replica');
    const pod = deployment.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.containers.length, 1);
    const container = pod.containers[0];
    const port = container.ports.find((p: Json) => p.name === 'http');
    assert.equal(port.containerPort, 8080);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(deployment.spec.selector.matchLabels, {
      'app.kubernetes.io/component': 'exporter',
      'app.kubernetes.io/name': 'whatsapp-helpdesk-exporter',
    });
  });

  it('takes every secret from the Secret through *_FILE, and the exporter accepts that configuration', () => {
    const pod = one('Deployment').spec.template.spec;
    const container = pod.containers[0];
    const env: Record<string, Json> = Object.fromEntries((container.env as Json[]).map((e) => [e.name as string, e]));
    for (const name of SECRET_SETTINGS) assert.equal(env[name], undefined, `${name} is never an inline value`);
    const volume = pod.volumes.find((v: Json) => v.secret);
    assert.equal(volume.secret.secretName, 'whatsapp-helpdesk-exporter');
    const mount = container.volumeMounts.find((m: Json) => m.name === volume.name);
    assert.equal(mount.readOnly, true);
    const items = new Map((volume.secret.items as Json[]).map((i) => [`${mount.mountPath}/${i.path}`, i.key as string]));

    // Lay the Secret out as the kubelet would, with made-up values, and load the exporter's config.
    const processEnv: Record<string, string> = {};
    for (const [name, e] of Object.entries(env)) {
      if (!name.endsWith('_FILE')) {
        processEnv[name] = e.value;
        continue;
      }
      assert.ok(SECRET_SETTINGS.includes(name.slice(0, -5)), `${name} is a secret setting`);
      const key = items.get(e.value);
      assert.ok(key, `${name} points at an item of the mounted Secret`);
      const file = join(scratch, key);
      mkdirSync(scratch, { recursive: true });
      writeFileSync(file, key === 'database-url' ? 'postgres://exporter:s3cret@postgres.db:5432/whatsapp\n' : `${key}-7f3a9c\n`);
      processEnv[name] = file;
    }
    for (const required of ['DATABASE_URL', 'WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN', 'EVENTS_API_TOKEN', 'METRICS_TOKEN'])
      assert.ok(`${required}_FILE` in processEnv, `${required} comes from the Secret`);
    const config = loadConfig(processEnv);
    assert.ok(config.ok, JSON.stringify(!config.ok && config.errors));
    assert.equal(config.config.port, 8080);
    assert.equal(config.config.databaseUrl, 'postgres://exporter:s3cret@postgres.db:5432/whatsapp');
    assert.equal(config.config.metricsToken, 'metrics-token-7f3a9c');
  });

  it('the Service and ServiceMonitor reach the pods, with the metrics token, under the job the rules expect', () => {
    const deployment = one('Deployment');
    const service = one('Service');
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v, `Service selects pods by ${k}`);
    assert.equal(service.spec.ports[0].targetPort, 'http');
    const monitor = one('ServiceMonitor');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(service.metadata.labels[k], v, `ServiceMonitor selects the Service by ${k}`);
    const endpoint = monitor.spec.endpoints[0];
    assert.equal(endpoint.port, service.spec.ports[0].name);
    assert.equal(endpoint.path, '/metrics');
    assert.deepEqual(endpoint.authorization, { type: 'Bearer', credentials: { name: 'whatsapp-helpdesk-exporter', key: 'metrics-token' } });
    const items = deployment.spec.template.spec.volumes.find((v: Json) => v.secret).secret.items.map((i: Json) => i.key);
    assert.ok(items.includes('metrics-token'), 'the exporter and Prometheus use the same token');
    // The operator names the job after the Service; the rules' default selector is that job.
    assert.equal(DEFAULT_CONFIG.exporterSelector, `job="${service.metadata.name}"`);
  });

  it("the PrometheusRule holds the repository's rules and passes promtool check rules", () => {
    const rule = one('PrometheusRule');
    assert.deepEqual(rule.spec.groups, JSON.parse(JSON.stringify(ruleGroups())));
    if (!findTool('promtool')) return;
    const file = join(scratch, 'rules.json');
    writeFileSync(file, JSON.stringify({ groups: rule.spec.groups }));
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('the dashboards are ConfigMaps labelled for the Grafana sidecar', () => {
    const maps = objects.filter((o) => o.kind === 'ConfigMap');
    const expected = renderDashboardFiles();
    assert.equal(maps.length, expected.size);
    for (const map of maps) {
      assert.equal(map.metadata.labels.grafana_dashboard, '1');
      const [file, text] = Object.entries(map.data as Record<string, string>)[0]!;
      assert.equal(text, expected.get(file!), `${map.metadata.name}: ${file} is the generated dashboard`);
      assert.ok(JSON.stringify(map).length < 262_144, 'fits the annotation limit of kubectl apply');
    }
  });
});
