/**
 * Prometheus metrics, one registry per Wharf instance (tests run several in one process). Another
 * thread (the webhook delivery thread) has a Metrics of its own; the main thread adds it as a
 * source and `render()` sums same-named series of both, so /metrics shows one set.
 */
import { AggregatorRegistry, Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from 'prom-client';

/** A registry's metrics as plain data (`registry.getMetricsAsJSON()`), which can cross threads. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Where extra metrics come from: null when the source has nothing to give right now. */
export type MetricsSource = () => Promise<MetricsJson | null>;

/** Wharf's metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'wharf_http_requests_total',
    help: 'HTTP requests served, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'wharf_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({ name: 'wharf_bytes_received_total', help: 'Blob and manifest bytes received', registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'wharf_bytes_sent_total', help: 'Blob and manifest bytes sent', registers: [this.registry] });
  readonly uploadDuration = new Histogram({
    name: 'wharf_blob_upload_duration_seconds',
    help: 'Time from starting a blob upload to completing it',
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: 'wharf_webhook_attempts_total',
    help: 'Webhook delivery attempts, by target type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly webhookLatency = new Histogram({
    name: 'wharf_webhook_attempt_duration_seconds',
    help: 'Webhook attempt duration',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [this.registry],
  });
  readonly outboxPending = new Gauge({ name: 'wharf_outbox_pending_events', help: 'Events not yet dispatched', registers: [this.registry] });
  /** Lines the log destination could not write (a full disk, a closed pipe); read from it when scraped. */
  readonly logLinesDropped = new Counter({
    name: 'wharf_log_lines_dropped_total',
    help: 'Log lines dropped because they could not be written',
    registers: [this.registry],
    collect: () => {
      const total = this.logDrops();
      const seen = this.logDropsSeen;
      if (total > seen) this.logLinesDropped.inc(total - seen);
      this.logDropsSeen = Math.max(seen, total);
    },
  });
  private logDrops: () => number = () => 0;
  private logDropsSeen = 0;

  private readonly sources: MetricsSource[] = [];

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'wharf_' });
  }

  /** Reports `droppedLines()` (a running total, e.g. a LogDestination's) as `wharf_log_lines_dropped_total`. */
  countLogDrops(droppedLines: () => number): void {
    this.logDrops = droppedLines;
  }

  /** Adds `source`'s metrics to what {@link render} reports (same name and labels: summed). */
  addSource(source: MetricsSource): void {
    this.sources.push(source);
  }

  /** The exposition text of this registry plus every source, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    const contentType = this.registry.contentType;
    if (this.sources.length === 0) return { contentType, body: await this.registry.metrics() };
    const extra = await Promise.all(this.sources.map((s) => s().catch(() => null)));
    const all = [await this.registry.getMetricsAsJSON(), ...extra.filter((m): m is MetricsJson => m !== null)];
    // Sum everything: a metric only one side has stays as it is ('omit' would drop e.g. process_start_time).
    const summed = all.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'sum' as const })));
    return { contentType, body: await AggregatorRegistry.aggregate(summed).metrics() };
  }
}
