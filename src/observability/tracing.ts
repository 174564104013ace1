// OpenTelemetry tracing, optional (CLM_OTEL): a span per GraphQL request and a child span per warehouse
// query attempt (or cache hit), so a slow dashboard shows which query it waited on. Off, the spans come
// from the API's no-op tracer and cost next to nothing. "otlp" exports over OTLP/HTTP to the collector
// the standard OTEL_EXPORTER_OTLP_* variables name; "console" prints spans (for trying it out).
import { context, trace, type Span, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export const TRACING_MODES = ["off", "otlp", "console"] as const;
export type TracingMode = (typeof TRACING_MODES)[number];

/** The tracer of this server; the global provider decides whether its spans go anywhere. */
export function tracer(): Tracer {
  return trace.getTracer("clm-graphql");
}

/** A child span of `parent` (the request's span), or a root span outside a request. */
export function startChildSpan(name: string, parent: Span | undefined, attributes: Record<string, string | number>) {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  return tracer().startSpan(name, { attributes }, ctx);
}

/**
 * Registers a tracer provider for `mode` (nothing for "off"); `processor` replaces the exporter (tests
 * pass an in-memory one). Returns how to flush and stop it.
 */
export function startTracing(mode: TracingMode, processor?: SpanProcessor): { shutdown(): Promise<void> } | undefined {
  if (mode === "off" && !processor) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME ?? "clm-graphql" }),
    spanProcessors: [
      processor ?? new BatchSpanProcessor(mode === "console" ? new ConsoleSpanExporter() : new OTLPTraceExporter()),
    ],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}
