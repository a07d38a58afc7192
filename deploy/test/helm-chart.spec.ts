import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { Renderer, TemplateError } from './go-template';

// `helm` is on neither npm nor Debian bookworm: the chart is rendered by go-template.ts (the subset of Go
// templates it uses) and its manifests are checked for what the cluster and the broker rely on.
const CHART = path.join(__dirname, '..', 'helm', 'constellation');
const TEMPLATES = path.join(CHART, 'templates');
const chart = parse(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;
const defaults = parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Values;
const files = Object.fromEntries(
  readdirSync(TEMPLATES).map((f) => [f, readFileSync(path.join(TEMPLATES, f), 'utf8')]),
);
const renderer = new Renderer(files);

type Values = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are free-form YAML
type Manifest = Record<string, any>;

const REQUIRED: Values = {
  database: { url: 'postgres://constellation:pw@db:5432/constellation' },
  secrets: { secretKey: 'k'.repeat(64) },
};

function merge(base: unknown, over: unknown): unknown {
  if (over === null || typeof over !== 'object' || Array.isArray(over)) return over;
  if (base === null || typeof base !== 'object' || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

/** Every manifest the chart renders with values.yaml under `overrides`, as `helm template` would list them. */
function render(...overrides: Values[]): Manifest[] {
  const values = overrides.reduce<unknown>((acc, o) => merge(acc, o), defaults) as Values;
  const context = {
    Values: values,
    Release: { Name: 'epn', Namespace: 'constellation', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const manifests: Manifest[] = [];
  for (const file of Object.keys(files).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(renderer.render(file, context))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
      const manifest = doc.toJS() as Manifest | null;
      if (manifest !== null) manifests.push(manifest);
    }
  }
  return manifests;
}

function one(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

const envOf = (container: Manifest) =>
  Object.fromEntries(
    (container.env as Manifest[]).map((e) => [e.name, e.valueFrom?.secretKeyRef ?? e.value]),
  );

describe('Helm chart deploy/helm/constellation', () => {
  it('renders, with the required values only, a Deployment, Service, PodDisruptionBudget, Secret and ConfigMap', () => {
    const manifests = render(REQUIRED);
    expect(manifests.map((m) => `${m.apiVersion} ${m.kind} ${m.metadata.name}`).sort()).toEqual([
      'apps/v1 Deployment epn-constellation',
      'policy/v1 PodDisruptionBudget epn-constellation',
      'v1 ConfigMap epn-constellation',
      'v1 Secret epn-constellation',
      'v1 Service epn-constellation',
    ]);
    for (const m of manifests) expect(m.metadata.labels['app.kubernetes.io/instance']).toBe('epn');
  });

  it.each([
    {
      name: 'the secret key',
      values: { database: REQUIRED.database },
      message:
        'secrets.secretKey is required (32+ characters: openssl rand -hex 32), or set secrets.existingSecret',
    },
    {
      name: 'the database',
      values: { secrets: REQUIRED.secrets },
      message:
        'database.url is required (postgres://user:password@host:5432/db), or set database.existingSecret',
    },
  ])('refuses to render without $name', ({ values, message }) => {
    expect(() => render(values)).toThrow(new TemplateError(message));
  });

  it('runs replicas of the image as a non-root user on a read-only root filesystem, probed on the health routes', () => {
    const deployment = one(render(REQUIRED), 'Deployment');
    const pod = deployment.spec.template.spec;
    const [broker] = pod.containers as Manifest[];
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(broker.image).toBe(`registry.example.org/constellation:${chart.appVersion}`);
    expect(broker.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(broker.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(broker.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(broker.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    expect(broker.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(broker.resources.requests).toEqual({ cpu: '250m', memory: '256Mi' });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.terminationGracePeriodSeconds).toBe(40);
    expect(broker.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });
    // A read-only root needs writable /tmp and data folder.
    expect(broker.volumeMounts).toEqual([
      { name: 'data', mountPath: '/var/lib/constellation' },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'data', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
    ]);
  });

  it('takes the secrets from the Secret and the rest from the ConfigMap, skipping empty settings', () => {
    const manifests = render(REQUIRED, { secrets: { adminToken: 'a'.repeat(43) } });
    const secret = one(manifests, 'Secret');
    expect(secret.stringData).toEqual({
      CONSTELLATION_SECRET_KEY: 'k'.repeat(64),
      CONSTELLATION_ADMIN_TOKEN: 'a'.repeat(43),
      DATABASE_URL: 'postgres://constellation:pw@db:5432/constellation',
    });
    expect(one(manifests, 'ConfigMap').data).toEqual({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' });
    const [broker] = one(manifests, 'Deployment').spec.template.spec.containers as Manifest[];
    expect(broker.envFrom).toEqual([{ configMapRef: { name: 'epn-constellation' } }]);
    expect(envOf(broker)).toEqual({
      DATABASE_URL: { name: 'epn-constellation', key: 'DATABASE_URL' },
      CONSTELLATION_SECRET_KEY: { name: 'epn-constellation', key: 'CONSTELLATION_SECRET_KEY' },
      CONSTELLATION_ADMIN_TOKEN: {
        name: 'epn-constellation',
        key: 'CONSTELLATION_ADMIN_TOKEN',
        optional: true,
      },
      AMQP_URL: { name: 'epn-constellation', key: 'AMQP_URL', optional: true },
    });
  });

  it('migrates in an init container with the database URL before the broker starts', () => {
    const pod = one(render(REQUIRED), 'Deployment').spec.template.spec;
    const [migrate] = pod.initContainers as Manifest[];
    expect(migrate.name).toBe('migrate');
    expect(migrate.command).toEqual(['node', 'scripts/migrate.js']);
    expect(migrate.image).toBe(pod.containers[0].image);
    expect(envOf(migrate)).toEqual({ DATABASE_URL: { name: 'epn-constellation', key: 'DATABASE_URL' } });
    expect(migrate.securityContext.readOnlyRootFilesystem).toBe(true);
    const off = one(render(REQUIRED, { migrations: { enabled: false } }), 'Deployment');
    expect(off.spec.template.spec.initContainers).toBeUndefined();
  });

  it("reads DATABASE_URL from CloudNativePG's app Secret and the keys from an existing Secret, making none", () => {
    const manifests = render({
      database: { existingSecret: 'epn-db-app', existingSecretKey: 'uri' },
      secrets: { existingSecret: 'epn-keys' },
    });
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    const pod = one(manifests, 'Deployment').spec.template.spec;
    const env = envOf(pod.containers[0]);
    expect(env.DATABASE_URL).toEqual({ name: 'epn-db-app', key: 'uri' });
    expect(env.CONSTELLATION_SECRET_KEY).toEqual({ name: 'epn-keys', key: 'CONSTELLATION_SECRET_KEY' });
    expect(envOf(pod.initContainers[0]).DATABASE_URL).toEqual({ name: 'epn-db-app', key: 'uri' });
  });

  it('selects the pods it makes: Service, PodDisruptionBudget and ServiceMonitor match the pod labels', () => {
    const manifests = render(REQUIRED, { serviceMonitor: { enabled: true, labels: { release: 'prom' } } });
    const deployment = one(manifests, 'Deployment');
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    const selectors = [
      deployment.spec.selector.matchLabels,
      one(manifests, 'Service').spec.selector,
      one(manifests, 'PodDisruptionBudget').spec.selector.matchLabels,
    ] as Record<string, string>[];
    for (const selector of selectors) {
      expect(selector).toEqual({
        'app.kubernetes.io/name': 'constellation',
        'app.kubernetes.io/instance': 'epn',
      });
      expect(podLabels).toMatchObject(selector);
    }
    expect(one(manifests, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    const monitor = one(manifests, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels.release).toBe('prom');
    expect(one(manifests, 'Service').metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
  });

  it('routes an Ingress to the Service port, with the long timeouts job-files uploads need', () => {
    const manifests = render(REQUIRED, {
      ingress: {
        enabled: true,
        className: 'nginx',
        hosts: ['tes.example.org'],
        tls: [{ secretName: 'tes-tls', hosts: ['tes.example.org'] }],
      },
    });
    const ingress = one(manifests, 'Ingress');
    const service = one(manifests, 'Service');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ secretName: 'tes-tls', hosts: ['tes.example.org'] }]);
    expect(ingress.spec.rules).toEqual([
      {
        host: 'tes.example.org',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: service.metadata.name, port: { name: 'http' } } },
            },
          ],
        },
      },
    ]);
    expect(service.spec.ports[0]).toMatchObject({ name: 'http', targetPort: 'http' });
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('0');
  });

  it("mounts one ReadWriteMany claim as every pod's data folder when persistence is on", () => {
    const manifests = render(REQUIRED, { persistence: { enabled: true, storageClass: 'cephfs' } });
    const claim = one(manifests, 'PersistentVolumeClaim');
    expect(claim.spec).toEqual({
      accessModes: ['ReadWriteMany'],
      storageClassName: 'cephfs',
      resources: { requests: { storage: '10Gi' } },
    });
    const volumes = one(manifests, 'Deployment').spec.template.spec.volumes as Manifest[];
    expect(volumes[0]).toEqual({ name: 'data', persistentVolumeClaim: { claimName: claim.metadata.name } });
    const existing = render(REQUIRED, { persistence: { enabled: true, existingClaim: 'shared' } });
    expect(existing.filter((m) => m.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(one(existing, 'Deployment').spec.template.spec.volumes[0].persistentVolumeClaim).toEqual({
      claimName: 'shared',
    });
  });

  it('prints NOTES with the warnings an installation needs', () => {
    const notes = (values: Values) =>
      renderer.render('NOTES.txt', {
        Values: merge(defaults, values),
        Release: { Name: 'epn' },
        Chart: { AppVersion: chart.appVersion },
      });
    const bare = notes(REQUIRED);
    expect(bare).toContain('WARNING: config.CONSTELLATION_PUBLIC_URL is not set');
    // Job files are in the database: a replica without a claim of its own loses nothing worth a warning.
    expect(bare).not.toContain('persistence');
    expect(bare).toContain('kubectl logs -l app.kubernetes.io/instance=epn');
    const complete = notes({
      ...REQUIRED,
      config: { CONSTELLATION_PUBLIC_URL: 'https://tes.example.org' },
      persistence: { enabled: true },
      secrets: { adminToken: 'a'.repeat(43) },
    });
    expect(complete).toBe(
      `Constellation ${chart.appVersion}: 2 replicas behind the Service epn-constellation (port 80).\n\n` +
        '  TES endpoint:  <URL>/ga4gh/tes/v1   API docs: <URL>/docs   metrics: <URL>/metrics\n',
    );
  });

  it('uses every top-level value of values.yaml in some template, and versions the app as package.json does', () => {
    const sources = Object.values(files).join('\n');
    const unused = Object.keys(defaults).filter((k) => !sources.includes(`.Values.${k}`));
    expect(unused).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(chart.appVersion).toBe(pkg.version);
  });
});

describe('go-template renderer', () => {
  const r = (source: string, values: Values = {}) =>
    new Renderer({ 't.yaml': source }).render('t.yaml', { Values: values });

  it.each([
    { name: 'trims around {{- and -}}', source: 'a  \n  {{- "b" -}}  \n c', want: 'abc' },
    {
      name: 'if and else',
      source: '{{ if .Values.x }}yes{{ else }}no{{ end }}',
      values: { x: '' },
      want: 'no',
    },
    {
      name: 'range over a map, keys sorted',
      source: '{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}',
      values: { m: { b: 2, a: 1 } },
      want: 'a=1;b=2;',
    },
    {
      name: 'range over a list, $ is the root',
      source: '{{ range .Values.l }}{{ . }}{{ $.Values.s }}{{ end }}',
      values: { l: ['x', 'y'], s: '!' },
      want: 'x!y!',
    },
    { name: 'default, quote', source: '{{ .Values.t | default "d" | quote }}', want: '"d"' },
    {
      name: 'toYaml | nindent',
      source: 'k:{{ toYaml .Values.m | nindent 2 }}',
      values: { m: { a: [1] } },
      want: 'k:\n  a:\n    - 1',
    },
    {
      name: 'define and include',
      source: '{{ define "n" }}<{{ .Values.v }}>{{ end }}{{ include "n" . }}',
      values: { v: 3 },
      want: '<3>',
    },
    { name: 'comments', source: 'a{{/* note */}}b', want: 'ab' },
  ])('$name', ({ source, values, want }) => {
    expect(r(source, values)).toBe(want);
  });

  it('refuses what it does not know rather than render it wrongly', () => {
    expect(() => r('{{ printf "%s" .Values.x }}')).toThrow(new TemplateError('unsupported function printf'));
    expect(() => r('{{ if .Values.x }}open')).toThrow(new TemplateError('if without end'));
  });
});
