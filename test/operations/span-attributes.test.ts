import * as semconv from '@opentelemetry/semantic-conventions';
import * as ours from '../../src/tracing/attributes.js';

/** The attribute keys the gateway spells itself are OpenTelemetry's own, as its semantic-conventions package defines them. */
it.each(Object.entries(ours))('%s is the semantic-conventions constant of the same name', (name, key) => {
  expect((semconv as Record<string, unknown>)[name]).toBe(key);
});
