import os from 'node:os';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type Sampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Tracing, TracingConfig } from './tracing.js';

/** How long shutdown waits for the last spans to be exported. */
const SHUTDOWN_BOUND_MS = 3000;

export interface RunningTracing extends Tracing {
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK as the composition root sets it up: a tracer
 * provider exporting batches of spans over OTLP/HTTP, and the one piece of
 * global state OpenTelemetry's context API needs, an AsyncLocalStorage
 * context manager (installed here, at start-up, and removed at shutdown).
 * The provider is not registered globally: the gateway's modules get the
 * tracer from the composition root. The host name (a pod's name) tells
 * replicas apart (Application Insights' role instance).
 */
export function startTracing(config: TracingConfig): RunningTracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_INSTANCE_ID]: os.hostname() }),
    sampler: samplerOf(config),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  return {
    tracer: provider.getTracer('maxconf-gateway'),
    propagator: new W3CTraceContextPropagator(),
    async shutdown() {
      // An unreachable collector must not hold the process past its termination grace period.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_BOUND_MS)));
      await Promise.race([provider.shutdown().catch(() => undefined), bound]);
      clearTimeout(timer);
      context.disable();
    },
  };
}

function samplerOf({ sampler, samplerRatio }: TracingConfig): Sampler {
  const root = { always_on: new AlwaysOnSampler(), always_off: new AlwaysOffSampler(), traceidratio: new TraceIdRatioBasedSampler(samplerRatio) };
  switch (sampler) {
    case 'always_on':
    case 'always_off':
    case 'traceidratio':
      return root[sampler];
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: root.always_on });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: root.always_off });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: root.traceidratio });
  }
}
