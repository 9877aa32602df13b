import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parseAllDocuments } from 'yaml';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway } from '../support/gateway.js';
import { REPO_ROOT } from '../support/process.js';
import { pexipProvider } from '../support/providers.js';

/**
 * deploy/monitoring against the gateway: every expression of its alerts, recording rules and
 * dashboard parses with Prometheus's own PromQL grammar, and every metric and label it names is
 * one a running gateway exports after a workload that makes every family appear (or a recording
 * rule's output, or one of the few external series below). Every alert has a severity, a summary,
 * a description and a runbook section in docs/operations.md.
 */
type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown };
type Rule = { record?: string; alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type Panel = { title: string; type: string; targets?: { expr: string }[] };

/** Labels Prometheus gives every target of the PodMonitor (Kubernetes service discovery), not the gateway. */
const TARGET_LABELS = ['namespace', 'pod'];
/** Series that are not the gateway's, and the labels the rules use of them. */
const EXTERNAL_METRICS: Record<string, string[]> = {
  // kube-state-metrics: a replica restarting.
  kube_pod_container_status_restarts_total: ['namespace', 'pod', 'container'],
};
/** Labels whose values the rules select on, so that a renamed route, state, upstream or bucket fails too. */
const VALUES_CHECKED = new Set(['route', 'state', 'upstream', 'le', 'operation', 'priority', 'strategy', 'result']);

const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, 'deploy/monitoring')], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);
const ofKind = (kind: string) => rendered.filter((m) => m.kind === kind);
const rules = (ofKind('PrometheusRule')[0] as Manifest & { spec: { groups: { name: string; rules: Rule[] }[] } }).spec.groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);
const dashboardMap = ofKind('ConfigMap').find((m) => m.metadata.labels?.grafana_dashboard === '1') as (Manifest & { data: Record<string, string> }) | undefined;
const dashboard = JSON.parse(Object.values(dashboardMap?.data ?? {})[0] ?? '{}') as { panels?: Panel[]; templating?: { list: { definition?: string }[] } };

/** Every PromQL expression of the rules and the dashboard, named by where it is. */
const expressions: { where: string; expr: string }[] = [
  ...rules.map((r) => ({ where: r.alert ?? r.record ?? '?', expr: r.expr })),
  ...(dashboard.panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
];

interface Selector {
  metric: string | undefined;
  matchers: { label: string; op: string; value: string }[];
}

/** What Prometheus's grammar makes of an expression: its error nodes, its selectors and every label name it uses. */
function analyse(expr: string): { errors: string[]; selectors: Selector[]; labels: string[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  const labels: string[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`a syntax error at ${node.from}: "${text(Math.max(0, node.from - 20), node.to + 20)}"`);
      if (node.name === 'LabelName') labels.push(text(node.from, node.to));
      if (node.name !== 'VectorSelector') return;
      const selector: Selector = { metric: undefined, matchers: [] };
      const metric = node.node.getChild('Identifier');
      if (metric) selector.metric = text(metric.from, metric.to);
      for (const matcher of node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const [name, op, value] = ['LabelName', 'MatchOp', 'StringLiteral'].map((child) => matcher.getChild(child));
        if (name && op && value) selector.matchers.push({ label: text(name.from, name.to), op: text(op.from, op.to), value: JSON.parse(text(value.from, value.to)) as string });
      }
      selectors.push(selector);
    },
  });
  return { errors, selectors, labels };
}

/** Series names and, per name, each label with the values seen, from Prometheus's text exposition format. */
function exposition(text: string): Map<string, Map<string, Set<string>>> {
  const families = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!match) continue;
    const labels = families.get(match[1]!) ?? new Map<string, Set<string>>();
    families.set(match[1]!, labels);
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels.set(name!, (labels.get(name!) ?? new Set()).add(value!));
    }
  }
  return families;
}

/** The names an expression uses that `exported` (the gateway's series) and the external ones do not define. */
function undefinedNames(expr: string, exported: Map<string, Map<string, Set<string>>>): string[] {
  const { selectors, labels } = analyse(expr);
  const labelsOf = (metric: string): Map<string, Set<string>> | undefined =>
    exported.get(metric) ?? (EXTERNAL_METRICS[metric] ? new Map(EXTERNAL_METRICS[metric].map((l) => [l, new Set<string>()])) : undefined);
  const problems: string[] = [];
  const usable = new Set(TARGET_LABELS);
  for (const { metric, matchers } of selectors) {
    const known = metric === undefined ? undefined : labelsOf(metric);
    if (known === undefined) {
      problems.push(`metric ${metric ?? '(none)'}`);
      continue;
    }
    for (const label of known.keys()) usable.add(label);
    for (const { label, op, value } of matchers) {
      if (!known.has(label) && !TARGET_LABELS.includes(label)) problems.push(`label ${label} of ${metric}`);
      else if (VALUES_CHECKED.has(label) && (op === '=' || op === '=~') && (known.get(label)?.size ?? 0) > 0) {
        // Series recorded by a rule or exported by others are checked for their labels only.
        for (const v of op === '=' ? [value] : value.split('|')) if (!known.get(label)?.has(v)) problems.push(`${label}="${v}" of ${metric}`);
      }
    }
  }
  for (const label of labels) if (!usable.has(label)) problems.push(`label ${label}`);
  return [...new Set(problems)];
}

test('the monitoring kustomization renders a PodMonitor of the gateway pods, a PrometheusRule and a Grafana dashboard ConfigMap', () => {
  expect(rendered.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
  const gateway = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, 'deploy/kubernetes')], { encoding: 'utf8' })).map((d) => d.toJSON() as Manifest);
  const pod = (gateway.find((m) => m.kind === 'Deployment') as Manifest & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[] }[] } } } }).spec.template;
  const monitor = (ofKind('PodMonitor')[0] as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] } }).spec;
  expect(pod.metadata.labels).toEqual(expect.objectContaining(monitor.selector.matchLabels));
  expect(monitor.podMetricsEndpoints.map((e) => [e.port, e.path])).toEqual([['metrics', '/metrics']]);
  expect(pod.spec.containers[0]!.ports.map((p) => p.name)).toContain('metrics');
  expect(dashboard.panels?.length).toBeGreaterThan(0);
});

test.each(expressions)('$where parses with the PromQL grammar', ({ expr }) => {
  expect(analyse(expr).errors).toEqual([]);
});

test('the parse check finds a syntax error', () => {
  expect(analyse('sum by (route (rate(maxconf_http_request_duration_seconds_count[5m]))').errors).not.toEqual([]);
  expect(analyse('rate(maxconf_http_request_duration_seconds_count{route="/room/create"}[5m]) >').errors).not.toEqual([]);
});

test('every alert has a severity (page or ticket), a summary, a description and a runbook section in docs/operations.md', () => {
  const operations = fs.readFileSync(path.join(REPO_ROOT, 'docs/operations.md'), 'utf8');
  // GitHub's anchors: a heading lower-cased, punctuation dropped, spaces as hyphens.
  const anchors = new Set([...operations.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) => heading!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')));
  expect(alerts.length).toBeGreaterThan(0);
  for (const alert of alerts) {
    expect({ alert: alert.alert, severity: alert.labels?.severity }).toEqual({ alert: alert.alert, severity: expect.stringMatching(/^(page|ticket)$/) });
    expect(Object.keys(alert.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
    const [file, anchor] = (alert.annotations?.runbook_url ?? '').split('#');
    expect({ alert: alert.alert, file, anchored: anchors.has(anchor ?? '') }).toEqual({ alert: alert.alert, file: 'docs/operations.md', anchored: true });
  }
});

test('each SLO (room creation, agent lookup, event sink; errors and latency) pages on a fast burn and opens a ticket on a slow one', () => {
  for (const route of ['/room/create', '/public/room/:room_name', '/public/event_sink']) {
    for (const ratio of ['maxconf:slo_errors:', 'maxconf:slo_slow:']) {
      const severities = alerts.filter((a) => a.expr.includes(ratio) && a.expr.includes(`route="${route}"`)).map((a) => a.labels?.severity);
      expect({ route, ratio, severities: severities.sort() }).toEqual({ route, ratio, severities: ['page', 'ticket'] });
    }
  }
});

test('every metric, label and selected value the rules and the dashboard use is exported by a gateway after a workload', async () => {
  const pexip = await pexipProvider();
  const gw = await startTestGateway({ env: pexip.env });
  try {
    // Both stores: `npm run test:postgres` runs this file on PostgreSQL (its shared Pexip budget included).
    expect(gw.store.kind).toBe(process.env.MAXCONF_TEST_STORE === 'postgres' ? 'postgres' : 'embedded');
    await gw.gateway.pool.refill();
    const created = await gw.http.post('/room/create?uuiData=01').set(gw.bearer());
    expect(created.status).toBe(200);
    const room = created.body.name as string;
    await gw.http.get(`/room/${room}`).set(gw.bearer());
    await gw.http.get('/rooms').set('Authorization', 'Bearer not.a.token');
    const agent = gw.genesys.agent('monitoring-agent');
    expect((await gw.http.get(`/public/room/${room}`).set('x-auth-token', agent)).status).toBe(200);
    await gw.http.get(`/public/room/${room}`).set('x-auth-token', agent);
    const sink = basicAuth(SINK_USER, SINK_PASSWORD);
    const at = () => gw.clock.now() / 1000;
    await gw.http.post('/public/event_sink').set(sink).send({ node: 'n', seq: 1, version: 2, time: at(), event: 'conference_started', data: { name: room } });
    const bulk = [
      { node: 'n', seq: 2, version: 2, time: at(), event: 'participant_connected', data: { conference: room } },
      { node: 'n', seq: 3, version: 2, time: at(), event: 'conference_ended', data: { name: room } },
      { node: 'n', seq: 4, version: 2, time: at(), event: 'conference_ended', data: { name: 5 } },
    ];
    expect((await gw.http.post('/public/event_sink').set(sink).send({ event: 'eventsink_bulk', node: 'n', seq: 0, version: 2, time: at(), data: bulk })).body.rejected).toBe(1);
    gw.clock.advance(1_200_000);
    await gw.gateway.garbageCollector.runOnce();

    const exported = exposition(await gw.gateway.metrics.registry.metrics());
    const recorded = new Map(rules.filter((r) => r.record !== undefined).map((r) => [r.record!, new Map([...analyse(r.expr).labels, ...TARGET_LABELS].map((l) => [l, new Set<string>()]))]));
    const defined = new Map([...exported, ...recorded]);
    expect(expressions.map(({ where, expr }) => ({ where, undefined: undefinedNames(expr, defined) })).filter((e) => e.undefined.length > 0)).toEqual([]);
    const templated = (dashboard.templating?.list ?? []).flatMap((v) => [...(v.definition ?? '').matchAll(/label_values\((\w+), (\w+)\)/g)]);
    for (const [, metric, label] of templated) expect(undefinedNames(`${metric}{${label}="x"}`, defined)).toEqual([]);

    // The check itself: a renamed metric, a misspelt label and a value no series has are caught.
    expect(undefinedNames('rate(maxconf_http_requests_total[5m])', defined)).toEqual(['metric maxconf_http_requests_total']);
    expect(undefinedNames('sum by (rout) (rate(maxconf_http_request_duration_seconds_count[5m]))', defined)).toEqual(['label rout']);
    expect(undefinedNames('maxconf_pool_rooms{state="redy"}', defined)).toEqual(['state="redy" of maxconf_pool_rooms']);
  } finally {
    await gw.close();
    await pexip.stop();
  }
}, 60_000);
