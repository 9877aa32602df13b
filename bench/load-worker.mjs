// Runs one autocannon load in its own process (so that the load generator never
// shares an event loop with a server under test) and prints the result as JSON.
import fs from 'node:fs';
import autocannon from 'autocannon';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let counter = 0;
const bodies = spec.bodyTemplate
  ? () => spec.bodyTemplate.replaceAll('"__SEQ__"', String((counter += 1))).replaceAll('"__TIME__"', String(Date.now() / 1000))
  : undefined;
const headerSets = spec.headerSets;
const defined = (options) => Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
const instance = autocannon({
  url: spec.url,
  method: spec.method ?? 'GET',
  connections: spec.connections ?? 50,
  ...defined({ duration: spec.duration, amount: spec.amount, overallRate: spec.overallRate }),
  headers: spec.headers ?? {},
  requests: [
    {
      setupRequest: (request) => {
        const next = { ...request };
        if (bodies) next.body = bodies();
        if (headerSets) next.headers = { ...request.headers, ...headerSets[(counter += 1) % headerSets.length] };
        return next;
      },
    },
  ],
});
instance.on('done', (result) => {
  const statuses = {};
  for (const [key, value] of Object.entries(result.statusCodeStats ?? {})) statuses[key] = value.count;
  process.stdout.write(
    JSON.stringify({
      rps: result.requests.average,
      total: result.requests.total,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      statuses,
    }),
  );
});
