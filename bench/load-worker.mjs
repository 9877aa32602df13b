// Runs one load in its own process (so that the load generator never shares an event loop
// with a server under test) and prints the result as JSON.
//
// Two modes. Closed loop (default): autocannon keeps `connections` requests in flight for
// `duration` seconds — throughput. Paced (`paced: true`): `amount` requests sent at even
// intervals over `amount / overallRate` seconds, each timed from when it was due (so a slow
// server cannot hide behind a client that waits for it) — latency at a fixed arrival rate.
// autocannon's own rate limit releases each second's quota in a burst, which measures
// queueing behind 50 connections instead.
import fs from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let counter = 0;
const bodies = spec.bodyTemplate
  ? () => spec.bodyTemplate.replaceAll('"__SEQ__"', String((counter += 1))).replaceAll('"__TIME__"', String(Date.now() / 1000))
  : undefined;
// Request paths used in turn (`paths`), in place of the URL's path: e.g. a different room name per request.
let pathIndex = 0;
const nextPath = spec.paths ? () => spec.paths[(pathIndex += 1) % spec.paths.length] : undefined;
const defined = (options) => Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

function closedLoop(options, headerSets) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: spec.url,
        method: spec.method ?? 'GET',
        connections: spec.connections ?? 50,
        ...defined({ duration: options.duration, amount: options.amount, overallRate: options.overallRate }),
        headers: options.headers ?? {},
        requests: [
          {
            setupRequest: (request) => {
              const next = { ...request };
              if (bodies) next.body = bodies();
              if (nextPath) next.path = nextPath();
              if (headerSets) next.headers = { ...request.headers, ...headerSets[(counter += 1) % headerSets.length] };
              return next;
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const statuses = {};
        for (const [key, value] of Object.entries(result.statusCodeStats ?? {})) statuses[key] = value.count;
        resolve({ rps: result.requests.average, total: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx, statuses });
      },
    );
  });
}

async function paced(amount, rate, headersFor) {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections ?? 50 });
  const latencies = [];
  const statuses = {};
  let errors = 0;
  const interval = 1000 / rate;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: amount }, (_, i) => new Promise((resolve) => {
      const due = started + i * interval;
      const send = () => {
        const request = http.request({ host: url.hostname, port: url.port, path: nextPath?.() ?? url.pathname + url.search, method: spec.method ?? 'GET', agent, headers: headersFor(i), timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            resolve();
          });
        });
        request.on('error', () => { errors += 1; resolve(); });
        request.on('timeout', () => request.destroy(new Error('timeout')));
        request.end();
      };
      setTimeout(send, Math.max(0, due - performance.now()));
    })),
  );
  agent.destroy();
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (ms) => Math.round(ms * 100) / 100;
  const non2xx = Object.entries(statuses).filter(([status]) => !status.startsWith('2')).reduce((sum, [, n]) => sum + n, 0);
  return { rps: amount / elapsed, total: latencies.length, p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), errors, non2xx, statuses, latencies: latencies.map(round) };
}

let result;
if (spec.paced) {
  const rate = spec.overallRate ?? 1000;
  if (spec.warmup) {
    const warmupRate = spec.warmup.overallRate ?? rate;
    await paced(Math.round((spec.warmup.duration ?? 1) * warmupRate), warmupRate, () => spec.warmup.headers ?? {});
  }
  result = await paced(spec.amount, rate, (i) => ({ ...(spec.headers ?? {}), ...(spec.headerSets?.[i % spec.headerSets.length] ?? {}) }));
} else {
  const warmup = spec.warmup ? await closedLoop(spec.warmup) : undefined;
  result = { ...(await closedLoop(spec, spec.headerSets)), warmupTotal: warmup?.total ?? 0 };
}
process.stdout.write(JSON.stringify(result));
