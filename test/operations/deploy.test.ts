import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { readEnvExample } from '../../src/config-reference.js';
import { signRaw } from '../stand-ins/entra.js';
import { startTestGateway } from '../support/gateway.js';
import { imageCommand, imageEnv } from '../support/image.js';
import { REPO_ROOT } from '../support/process.js';

/**
 * The deployment files against the project: what `kubectl kustomize` renders
 * and the compose file use only documented variables, are accepted by the
 * gateway's own configuration, probe the documented routes on the configured
 * port, run as a non-root user and give shutdown the time it is configured to take.
 */
type Manifest = { kind: string; metadata: { name: string }; [key: string]: unknown };
type Probe = { httpGet: { path: string; port: string | number } };
type Container = {
  image: string;
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: { name: string }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: unknown } };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean };
  volumeMounts: { name: string; mountPath: string }[];
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type PodSpec = {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes: { name: string; emptyDir?: object }[];
};

const render = (dir: string) => parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, dir)], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);
/** The base, and what an environment's overlay makes of it (deploy/overlays/example: registry, ConfigMap values, Secret). */
const base = render('deploy/kubernetes');
const rendered = render('deploy/overlays/example');
const baseConfigMap = () => (base.find((m) => m.kind === 'ConfigMap') as Manifest & { data: Record<string, string> }).data;
const one = (kind: string) => {
  const found = rendered.filter((m) => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const deployment = () => one('Deployment') as Manifest & { spec: { replicas: number; template: { spec: PodSpec } } };
const pod = () => deployment().spec.template.spec;
const container = () => pod().containers[0]!;
const configMap = () => (one('ConfigMap') as Manifest & { data: Record<string, string> }).data;
const secret = () => (one('Secret') as Manifest & { stringData: Record<string, string> }).stringData;
const documented = new Set(readEnvExample(fs.readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8')).map((v) => v.name));
const openapi = parse(fs.readFileSync(path.join(REPO_ROOT, 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** The configuration the pods get, with the Secret's placeholders replaced by well-formed values. */
function podEnvironment(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    ...configMap(),
    EVENT_SINK_USERNAME: 'pexip',
    EVENT_SINK_PASSWORD: 'a-real-sink-password',
    DATABASE_URL: 'postgres://maxconf:secret@postgres.example.internal:5432/maxconf',
    PEXIP_OAUTH_PRIVATE_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

test('the base renders a Deployment of three replicas, a Service, a PodDisruptionBudget and a ConfigMap; the Secret and the registry come from an overlay', () => {
  expect(base.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);
  expect(rendered.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service']);
  const baseImage = (base.find((m) => m.kind === 'Deployment') as Manifest & { spec: { template: { spec: PodSpec } } }).spec.template.spec.containers[0]!.image;
  expect(baseImage).toBe('maxconf-gateway:0.1.0');
  expect(container().image).toBe('registry.example.gov/maxconf/maxconf-gateway:0.1.0');
  expect(deployment().spec.replicas).toBe(3);
  const { minAvailable, selector } = (one('PodDisruptionBudget') as Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }).spec;
  expect(minAvailable).toBeGreaterThan(0);
  expect(minAvailable).toBeLessThan(3);
  const podLabels = (deployment().spec.template as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels;
  expect(Object.keys(selector.matchLabels).length).toBeGreaterThan(0);
  expect(podLabels).toEqual(expect.objectContaining(selector.matchLabels));
  expect(container().resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
  expect(container().resources.limits).toEqual(expect.objectContaining({ memory: expect.any(String) }));
});

test('every variable the pods get is in .env.example, from the ConfigMap and Secret the container names', () => {
  const names = [...Object.keys(configMap()), ...Object.keys(secret()), ...(container().env ?? []).map((e) => e.name)];
  expect(names.filter((name) => !documented.has(name))).toEqual([]);
  const sources = container().envFrom ?? [];
  expect(sources.map((s) => s.configMapRef?.name ?? s.secretRef?.name)).toEqual([one('ConfigMap').metadata.name, one('Secret').metadata.name]);
});

test("the gateway's own validation accepts the overlay's ConfigMap (with real secrets), and refuses the base ConfigMap's placeholders and the example Secret's", () => {
  const config = loadConfig(podEnvironment());
  expect(config.production).toBe(true);
  expect(config.store.database).toBeDefined();
  expect(() => loadConfig({ ...configMap(), ...secret() })).toThrow(/EVENT_SINK_PASSWORD: must be at least 12 characters/);
  const placeholders = Object.entries(baseConfigMap()).filter(([, value]) => value.startsWith('replace-with-'));
  expect(placeholders.length).toBeGreaterThan(0);
  let refusal = '';
  try {
    loadConfig({ ...podEnvironment(), ...baseConfigMap() });
  } catch (error) {
    refusal = (error as Error).message;
  }
  for (const [name, value] of placeholders) expect(refusal).toContain(`${name}: still the example's placeholder ('${value}'); set the real value`);
});

test('liveness and readiness probe the documented, unauthenticated routes on the configured port', () => {
  const config = loadConfig(podEnvironment());
  const ports = Object.fromEntries(container().ports.map((p) => [p.name, p.containerPort]));
  const portOf = (probe: Probe) => (typeof probe.httpGet.port === 'number' ? probe.httpGet.port : ports[probe.httpGet.port]);
  expect(container().livenessProbe.httpGet.path).toBe('/public/health');
  expect(container().readinessProbe.httpGet.path).toBe('/public/ready');
  for (const probe of [container().livenessProbe, container().readinessProbe]) {
    expect(portOf(probe)).toBe(config.http.port);
    expect(openapi.paths[probe.httpGet.path]?.get?.security).toEqual([]);
  }
  expect(ports.metrics).toBe(config.metrics?.port);
  const service = one('Service') as Manifest & { spec: { ports: { targetPort: string | number }[] } };
  expect(service.spec.ports.map((p) => (typeof p.targetPort === 'number' ? p.targetPort : ports[p.targetPort]))).toEqual([config.http.port]);
});

/** Node.js options that Node documents (its CLI reference), the only ones the image and `npm start` may give. */
const DOCUMENTED_NODE_OPTIONS = ['--max-old-space-size', '--max-semi-space-size'];

test('`npm start` runs the gateway as the image does, with Node.js options that Node documents only: no V8 flags, no NODE_OPTIONS, no malloc tunables', () => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const cmd = imageCommand(dockerfile);
  expect(cmd[0]).toBe('node');
  expect(cmd.at(-1)).toBe('dist/main.js');
  for (const flag of cmd.slice(1, -1)) expect(DOCUMENTED_NODE_OPTIONS).toContain(flag.split('=')[0]);
  // exec: the shell npm runs the script in becomes node, so npm's forwarded SIGTERM/SIGINT reach the gateway (test/process/npm-start.test.ts).
  expect(scripts.start).toBe(`exec ${cmd.join(' ')}`);
  for (const name of ['NODE_OPTIONS', 'GLIBC_TUNABLES']) expect(imageEnv(dockerfile, name)).toBeUndefined();
});

test('the image runs as a non-root user: Dockerfile USER and the pod security context agree', () => {
  const user = [...dockerfile.matchAll(/^USER (\S+)$/gm)].at(-1)?.[1];
  expect(user).toBeDefined();
  expect(['root', '0']).not.toContain(user);
  // The official Node images' `node` user is uid 1000.
  expect(user).toBe('node');
  expect(pod().securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: 1000 }));
  expect(container().securityContext).toEqual(expect.objectContaining({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }));
});

test('the read-only root filesystem leaves DATA_DIR and /tmp writable through emptyDir volumes', () => {
  const config = loadConfig(podEnvironment());
  const emptyDirs = new Set(pod().volumes.filter((v) => v.emptyDir !== undefined).map((v) => v.name));
  const writable = container().volumeMounts.filter((m) => emptyDirs.has(m.name)).map((m) => m.mountPath);
  expect(writable.sort()).toEqual([config.store.dataDir, '/tmp'].sort());
  expect(dockerfile).toContain(`ENV DATA_DIR=${config.store.dataDir}`);
});

test('termination grace covers the preStop pause, the drain and SHUTDOWN_TIMEOUT_SECONDS, with a margin; the drain outlasts readiness noticing; the pause is an exec of sleep (the sleep action needs Kubernetes 1.30)', () => {
  const config = loadConfig(podEnvironment());
  const preStop = container().lifecycle?.preStop;
  expect(preStop?.sleep).toBeUndefined();
  const [command, seconds, ...rest] = preStop?.exec?.command ?? [];
  expect([command, rest]).toEqual(['sleep', []]);
  expect(Number(seconds)).toBeGreaterThan(0);
  expect(pod().terminationGracePeriodSeconds).toBeGreaterThan(Number(seconds) + (config.http.shutdownDrainMs + config.http.shutdownTimeoutMs) / 1000);
  const readiness = container().readinessProbe as Probe & { periodSeconds: number; failureThreshold: number };
  expect(config.http.shutdownDrainMs / 1000).toBeGreaterThan(readiness.periodSeconds * readiness.failureThreshold);
});

test('the compose file uses only documented variables for its three replicas on PostgreSQL', () => {
  const compose = parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy/compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string>; stop_grace_period?: string }>;
  };
  const gateways = Object.entries(compose.services).filter(([name]) => name.startsWith('gateway-'));
  expect(gateways).toHaveLength(3);
  for (const [, service] of gateways) {
    const environment = service.environment ?? {};
    expect(Object.keys(environment).filter((name) => !documented.has(name))).toEqual([]);
    const config = loadConfig(environment);
    expect(config.store.database?.url).toMatch(/@postgres:5432\//);
    expect(Number.parseInt(service.stop_grace_period ?? '0', 10)).toBeGreaterThan(config.http.shutdownTimeoutMs / 1000);
  }
});

test("the gateway's spans reach the Collector of deploy/otel-collector, whose traces pipeline exports OTLP/HTTP to Application Insights", () => {
  const collector = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, 'deploy/otel-collector')], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);
  const of = (kind: string) => collector.filter((m) => m.kind === kind);
  expect(collector.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service']);
  const collectorDeployment = of('Deployment')[0] as Manifest & { spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } } };
  const budget = (of('PodDisruptionBudget')[0] as Manifest & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }).spec;
  expect(budget.maxUnavailable).toBeLessThan(collectorDeployment.spec.replicas);
  expect(collectorDeployment.spec.template.metadata.labels).toEqual(expect.objectContaining(budget.selector.matchLabels));

  const tracesUrl = new URL(loadConfig(podEnvironment()).tracing?.tracesUrl ?? 'http://tracing-off');
  const service = of('Service')[0] as Manifest & { spec: { ports: { port: number; targetPort: string }[] } };
  expect(tracesUrl.hostname).toBe(service.metadata.name);
  expect(tracesUrl.pathname).toBe('/v1/traces');
  const servicePort = service.spec.ports.find((p) => p.port === Number(tracesUrl.port));
  expect(servicePort).toBeDefined();

  const collectorPod = (of('Deployment')[0] as Manifest & { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  const [otelcol] = collectorPod.containers;
  const containerPort = otelcol!.ports.find((p) => p.name === servicePort!.targetPort)?.containerPort;
  const pipelineConfig = parse((of('ConfigMap')[0] as Manifest & { data: Record<string, string> }).data['config.yaml']!) as {
    receivers: { otlp: { protocols: { http: { endpoint: string } } } };
    exporters: { azuremonitor: { connection_string: string } };
    service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } };
  };
  expect(pipelineConfig.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${containerPort}`);
  expect(pipelineConfig.service.pipelines.traces).toEqual(expect.objectContaining({ receivers: ['otlp'], exporters: ['azuremonitor'] }));
  expect(pipelineConfig.exporters.azuremonitor.connection_string).toBe('${env:APPLICATIONINSIGHTS_CONNECTION_STRING}');
  const secret = of('Secret')[0] as Manifest & { stringData: Record<string, string> };
  expect(Object.keys(secret.stringData)).toEqual(['APPLICATIONINSIGHTS_CONNECTION_STRING']);
  expect(otelcol!.envFrom?.map((s) => s.secretRef?.name)).toEqual([secret.metadata.name]);
  expect(otelcol!.securityContext).toEqual(expect.objectContaining({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }));
  expect(collectorPod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true }));
});

/** deploy/apim/policy.xml: the environment it is written for, and what its validate-azure-ad-token accepts. */
function apimTokenCheck() {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'deploy/apim/policy.xml'), 'utf8');
  const document = new DOMParser({ onError: (level, message) => { throw new Error(`policy.xml: ${level}: ${message}`); } }).parseFromString(text, 'text/xml');
  const [check] = Array.from(document.getElementsByTagName('validate-azure-ad-token'));
  const values = (element: Element | undefined, tag: string) => Array.from(element?.getElementsByTagName(tag) ?? []).map((e) => e.textContent?.trim() ?? '');
  return {
    environment: /MAXCONF_ENV=(\w+)/.exec(text)?.[1],
    tenant: check?.getAttribute('tenant-id'),
    audiences: values(check, 'audience'),
    callers: values(check, 'application-id'),
    requiredClaims: Object.fromEntries<{ match: string; values: string[] }>(Array.from(check?.getElementsByTagName('claim') ?? []).map((claim) => [claim.getAttribute('name') ?? '', { match: claim.getAttribute('match') ?? 'all', values: values(claim, 'value') }])),
    /** The conditions under which the policy answers 403 itself. */
    refusals: Array.from(document.getElementsByTagName('when')).filter((when) => when.getElementsByTagName('set-status')[0]?.getAttribute('code') === '403').map((when) => when.getAttribute('condition') ?? ''),
  };
}

/** The environment's Entra settings, as the gateway's configuration makes them (the pods' ConfigMap, with the policy's MAXCONF_ENV). */
function entraOf(environment: string | undefined) {
  return loadConfig({ ...podEnvironment(), MAXCONF_ENV: environment ?? 'missing' }).entra;
}

test("APIM's token check names the tenant, audiences and callers the gateway's configuration accepts for the same environment, and requires no claim the gateway does not", () => {
  const apim = apimTokenCheck();
  expect(apim.environment).toBe(configMap().MAXCONF_ENV);
  const entra = entraOf(apim.environment);
  expect(apim.tenant).toBe(entra.tenantId);
  // validate-azure-ad-token accepts the tenant's v1 and v2 issuers: the gateway must accept the same two.
  expect([...entra.issuers].sort()).toEqual([`https://sts.windows.net/${apim.tenant}/`, `https://login.microsoftonline.com/${apim.tenant}/v2.0`].sort());
  expect([...apim.audiences].sort()).toEqual([...entra.clientIds.flatMap((id) => [id, `api://${id}`]), ...entra.extraAudiences].sort());
  expect([...apim.callers].sort()).toEqual([...entra.allowedCallers].sort());
  expect(apim.requiredClaims).toEqual({ tid: { match: 'all', values: [entra.tenantId] }, ...(entra.requiredRole ? { roles: { match: 'all', values: [entra.requiredRole] } } : {}) });
  // Delegated tokens are refused as the gateway refuses them: scp, or an idtyp other than app (never a missing idtyp).
  expect(apim.refusals).toEqual([expect.stringMatching(/ContainsKey\("scp"\).*GetValueOrDefault\("idtyp", "app"\) != "app"/)]);
});

test("every Entra claim set the gateway accepts passes APIM's token check, app-only tokens without idtyp included", async () => {
  const apim = apimTokenCheck();
  const entra = entraOf(apim.environment);
  const gw = await startTestGateway({ env: { MAXCONF_ENV: apim.environment ?? 'missing' } });
  try {
    const fixtures = path.join(REPO_ROOT, 'test/fixtures/upstream/entra');
    const accepted: Record<string, unknown>[] = [];
    for (const file of fs.readdirSync(fixtures)) {
      const published = JSON.parse(fs.readFileSync(path.join(fixtures, file), 'utf8')) as Record<string, unknown>;
      // The published claim set, issued in the environment's tenant to its API for its caller, and valid now.
      const v1 = published.ver === '1.0';
      const now = Math.floor(gw.clock.now() / 1000);
      const claims = {
        ...published,
        tid: entra.tenantId,
        iss: v1 ? `https://sts.windows.net/${entra.tenantId}/` : `https://login.microsoftonline.com/${entra.tenantId}/v2.0`,
        aud: v1 ? `api://${entra.clientIds[0]}` : entra.clientIds[0],
        ...(v1 ? { appid: entra.allowedCallers[0] } : { azp: entra.allowedCallers[0] }),
        iat: now,
        nbf: now,
        exp: now + 3600,
      };
      const token = signRaw(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: gw.entra.signingKey.kid }), JSON.stringify(claims), gw.entra.signingKey.privateKey);
      if ((await gw.http.get('/rooms').set('Authorization', `Bearer ${token}`)).status === 200) accepted.push(claims);
    }
    expect(accepted.filter((claims) => claims.idtyp === undefined).length).toBeGreaterThan(0);
    for (const claims of accepted) {
      expect({ aud: apim.audiences.includes(claims.aud as string), caller: apim.callers.includes((claims.azp ?? claims.appid) as string), tenant: claims.tid === apim.tenant }).toEqual({ aud: true, caller: true, tenant: true });
      for (const [name, { match, values }] of Object.entries(apim.requiredClaims)) {
        const carried = ([] as unknown[]).concat(claims[name as keyof typeof claims] ?? []);
        expect({ claim: name, satisfied: match === 'any' ? values.some((v) => carried.includes(v)) : values.every((v) => carried.includes(v)) }).toEqual({ claim: name, satisfied: true });
      }
    }
  } finally {
    await gw.close();
  }
}, 60_000);
