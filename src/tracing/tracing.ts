import { context, type Span, SpanKind, SpanStatusCode, type TextMapPropagator, trace, type Tracer } from '@opentelemetry/api';

/** OpenTelemetry's sampler names (OTEL_TRACES_SAMPLER). */
export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

export interface TracingConfig {
  /** Where spans are POSTed as OTLP/HTTP JSON (…/v1/traces). */
  tracesUrl: string;
  serviceName: string;
  sampler: (typeof SAMPLERS)[number];
  /** The ratio of the traceidratio samplers. */
  samplerRatio: number;
}

/**
 * What instrumented code needs to make spans and carry W3C trace context.
 * Undefined when tracing is off: the instrumentation is then not installed at
 * all (no span objects, no context switches, no header parsing).
 */
export interface Tracing {
  tracer: Tracer;
  /** W3C Trace Context (`traceparent`, `tracestate`). */
  propagator: TextMapPropagator;
}

/** `trace_id` and `span_id` of the active span, for every log line (pino's `mixin`); nothing outside a trace. */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** Runs `work` in a child span of the active one (a new trace when none is); ends it when `work` settles, marking it failed when it throws. */
export async function inChildSpan<T>(tracing: Tracing, name: string, kind: SpanKind, attributes: Record<string, string | number>, work: (span: Span) => Promise<T>): Promise<T> {
  const parent = context.active();
  const span = tracing.tracer.startSpan(name, { kind, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** A span that ended in an error: its type, never its message (which may quote a value). */
export function failed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}
