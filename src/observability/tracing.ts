/**
 * Traces (docs/observability.md): OpenTelemetry spans exported over OTLP/HTTP to a collector
 * (Jaeger, Tempo, the OpenTelemetry Collector). Off by default, and then free: the SDK is never
 * loaded (it is imported dynamically by {@link startTracing}), the global API stays the no-op one,
 * and every helper here returns at its first test of `active` (no span, no context object, no
 * header, NULL in the trace-context columns).
 *
 * This is the port the other layers use: {@link withSpan} runs a function inside a span,
 * {@link traceparent} is the W3C `traceparent` of the current (or a given) span, for rows
 * (events.trace_context, webhook_executions.trace_context) and outgoing requests, and
 * {@link contextFromTraceparent} turns a stored one back into a parent. The context follows async
 * calls through an AsyncLocalStorage context manager (below), registered only when tracing is on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TransactionObserver } from '../db/index.ts';
import {
  context,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type ContextManager,
  type Link,
  type Span,
} from '@opentelemetry/api';

export { SpanKind, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';

/** The `tracing` config section (src/config/schema.ts). */
export interface TracingConfig {
  enabled: boolean;
  /** OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  /** Fraction of new traces sampled (0..1); a request with a sampled parent follows its parent. */
  sample_ratio: number;
  service_name: string;
  /** Extra request headers for the collector (an API key, say). */
  headers: Record<string, string>;
  /** Milliseconds between exports of finished spans. */
  export_interval_ms: number;
}

/** A running tracer provider, or the no-op one. */
export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops; the process is back on the no-op API. */
  shutdown(): Promise<void>;
}

/** True while a provider started by {@link startTracing} is running: every helper tests it first. */
let active = false;

const noTracing: Tracing = { enabled: false, flush: async () => {}, shutdown: async () => {} };

/** The context manager: the active context follows async calls (AsyncLocalStorage). */
class AsyncContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/**
 * Starts the tracer provider when `cfg.enabled` (loading the SDK and the OTLP exporter then, and
 * only then); otherwise returns the no-op {@link Tracing}. One provider per process (thread).
 */
export async function startTracing(cfg: TracingConfig, version = ''): Promise<Tracing> {
  if (!cfg.enabled) return noTracing;
  const [sdk, otlp, resources, semconv] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const exporter = new otlp.OTLPTraceExporter({ url: cfg.endpoint, headers: cfg.headers });
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: cfg.service_name, ...(version ? { [semconv.ATTR_SERVICE_VERSION]: version } : {}) }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(cfg.sample_ratio) }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: cfg.export_interval_ms })],
  });
  context.setGlobalContextManager(new AsyncContextManager());
  trace.setGlobalTracerProvider(provider);
  active = true;
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    async shutdown() {
      active = false;
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
      }
    },
  };
}

/** True while tracing is on in this process. */
export function tracingActive(): boolean {
  return active;
}

/** What a span starts with. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent (default: the active context). */
  parent?: Context;
  links?: Link[];
}

/**
 * Runs `fn` inside a new span (the active one while `fn` runs), ending it when `fn` settles and
 * recording an error as the span's status. With tracing off, just `fn(undefined)`.
 */
export function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span | undefined) => Promise<T> | T): Promise<T> | T {
  if (!active) return fn(undefined);
  const parent = options.parent ?? context.active();
  const span = trace.getTracer('wharf').startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links }, parent);
  const fail = (err: unknown): never => {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    span.end();
    throw err;
  };
  return context.with(trace.setSpan(parent, span), () => {
    let out: Promise<T> | T;
    try {
      out = fn(span);
    } catch (err) {
      return fail(err);
    }
    if (out instanceof Promise) {
      return out.then((v) => {
        span.end();
        return v;
      }, fail);
    }
    span.end();
    return out;
  });
}

/** Starts a span the caller ends (an HTTP request's, ended by the response hook); undefined with tracing off. */
export function startSpan(name: string, options: SpanOptions): { span: Span; context: Context } | undefined {
  if (!active) return undefined;
  const parent = options.parent ?? context.active();
  const span = trace.getTracer('wharf').startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Runs `fn` with `ctx` as the active context (or just runs it, with no context). */
export function runInContext<T>(ctx: Context | undefined, fn: () => T): T {
  return ctx ? context.with(ctx, fn) : fn();
}

/** Marks a span failed (a 5xx answer, an attempt that failed). */
export function markSpanError(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The W3C `traceparent` of the span in `ctx` (default: the active context), or null with tracing
 * off or no valid span: the value stored with outbox events and deliveries and sent on outgoing
 * requests.
 */
export function traceparent(ctx?: Context): string | null {
  if (!active) return null;
  const sc = trace.getSpanContext(ctx ?? context.active());
  if (!sc || !trace.isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? '01' : '00'}`;
}

/**
 * The parent context a stored or received `traceparent` names (a remote span), or undefined with
 * tracing off or a missing or malformed value (the span then starts a trace of its own).
 */
export function contextFromTraceparent(value: string | null | undefined): Context | undefined {
  if (!active || !value) return undefined;
  const m = traceparentPattern.exec(value.trim());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}

/** A link to the span a `traceparent` names (a batch span links the events it handles), or undefined. */
export function linkTo(value: string | null | undefined): Link | undefined {
  const ctx = contextFromTraceparent(value);
  const sc = ctx ? trace.getSpanContext(ctx) : undefined;
  return sc ? { context: sc } : undefined;
}

/** A link to the active span (a per-event span started under a stored parent links the batch it ran in), or undefined. */
export function linkToActive(): Link | undefined {
  if (!active) return undefined;
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/** `headers` plus `traceparent` of the active span when tracing is on (outgoing requests: webhooks, scanner adapters). */
export function withTraceHeaders<H extends Record<string, string>>(headers: H): H {
  const tp = traceparent();
  return tp ? { ...headers, traceparent: tp } : headers;
}

/** The blob store calls that get a span (`blob.<name>`), with the digest or upload id as attribute. */
const tracedBlobCalls = new Set(['stat', 'read', 'openFile', 'readAll', 'put', 'delete', 'createUpload', 'appendUpload', 'commitUpload', 'deleteUpload']);

/**
 * `store` with a span around each call at the storage port (put, get, stat, uploads). main.ts
 * wraps the blob store with it only when tracing is on; other methods pass through.
 */
export function tracedBlobStore<S extends object>(store: S, driver: string): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !tracedBlobCalls.has(prop)) return fn.bind(target);
      return (...args: unknown[]) =>
        withSpan(`blob.${prop}`, { kind: SpanKind.INTERNAL, attributes: { 'wharf.storage.driver': driver, 'wharf.blob.key': typeof args[0] === 'string' ? args[0] : '' } }, () => fn.apply(target, args));
    },
  });
}

/**
 * `fn` (a transaction's body) to run in a span `db.transaction`, in the context of the caller
 * (captured now): a group commit (src/db/group-commit.ts) runs the bodies of many requests in a
 * turn of its own, so without this an outbox row would take another request's trace. With tracing
 * off, `fn` itself.
 */
export function tracedTransaction<A extends unknown[], T>(name: string, fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  if (!active) return fn;
  const caller = context.active();
  return (...args: A) => context.with(caller, () => withSpan('db.transaction', { kind: SpanKind.INTERNAL, attributes: { 'db.operation.name': name } }, () => fn(...args)) as Promise<T>);
}

/**
 * A span `sql.transaction` from each transaction's BEGIN to its COMMIT or ROLLBACK, at the
 * database driver (src/db/observed-dialect.ts), so every module's transactions show, with the
 * caller's span as parent; a ROLLBACK is recorded as an attribute, a failed COMMIT as an error.
 * Undefined with tracing off: the database is then opened without the wrapper.
 */
export function transactionSpans(): TransactionObserver | undefined {
  if (!active) return undefined;
  return {
    begin(dialect) {
      if (!active) return undefined;
      return trace.getTracer('wharf').startSpan('sql.transaction', { kind: SpanKind.CLIENT, attributes: { 'db.system': dialect } }, context.active());
    },
    end(token, outcome) {
      const span = token as Span | undefined;
      if (!span) return;
      span.setAttribute('wharf.db.outcome', outcome);
      if (outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: 'the transaction failed to begin or end' });
      span.end();
    },
  };
}
