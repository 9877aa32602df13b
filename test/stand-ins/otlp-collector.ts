import type http from 'node:http';
import { LoopbackServer } from './loopback-server.js';

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  status: { code?: number };
  serviceName: string | undefined;
}

export const SPAN_KIND = { server: 2, client: 3 } as const;

/**
 * An OpenTelemetry Collector's OTLP/HTTP receiver, JSON encoding only: POST
 * /v1/traces with an ExportTraceServiceRequest, answered 200 with an empty
 * ExportTraceServiceResponse (open-telemetry/opentelemetry-proto/docs/specification.md,
 * "OTLP/HTTP" and "JSON Protobuf Encoding": trace and span ids as hex strings,
 * enums as integers, 64-bit integers as strings or numbers).
 */
export class OtlpCollectorStandIn extends LoopbackServer {
  readonly spans: ReceivedSpan[] = [];
  /** Spans received, kept or not. */
  received = 0;

  /** `keepSpans: false` counts spans without keeping them (the benchmark's long runs). */
  constructor(private readonly keepSpans = true) {
    super();
  }

  /** Every request as it arrived, for what was sent at all. */
  readonly requests: { path: string; contentType: string | undefined }[] = [];

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] });
    if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.startsWith('application/json')) {
      res.writeHead(415).end();
      return;
    }
    const spans = spansOf(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    this.received += spans.length;
    if (this.keepSpans) this.spans.push(...spans);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: { spans?: (Omit<ReceivedSpan, 'attributes' | 'serviceName'> & { attributes?: { key: string; value: AnyValue }[] })[] }[];
  }[];
}

function spansOf(request: ExportRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const serviceName = attributesOf(resourceSpans.resource?.attributes)['service.name'] as string | undefined;
    return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({ ...span, parentSpanId: span.parentSpanId ?? '', attributes: attributesOf(span.attributes), serviceName })),
    );
  });
}

function attributesOf(list: { key: string; value: AnyValue }[] = []): ReceivedSpan['attributes'] {
  const attributes: ReceivedSpan['attributes'] = {};
  for (const { key, value } of list) {
    attributes[key] = value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue)) ?? value.boolValue ?? value.doubleValue;
  }
  return attributes;
}
