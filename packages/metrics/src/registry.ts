import * as prom from "prom-client";

export type Labels = Record<string, string | number>;

export interface Counter {
  inc(labels?: Labels, value?: number): void;
}
export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}
export interface Histogram {
  observe(value: number, labels?: Labels): void;
  /** Starts a timer; calling the result observes the elapsed seconds. */
  startTimer(labels?: Labels): (labels?: Labels) => number;
}

interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

/** One registry per process (never prom-client's global one). */
export interface MetricsRegistry {
  counter(o: MetricOptions): Counter;
  gauge(o: MetricOptions & { collect?: () => number | Promise<number> }): Gauge;
  histogram(o: MetricOptions & { buckets?: readonly number[] }): Histogram;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Current value of a counter or gauge (summed over labels matching `labels`), for tests and benches. */
  value(name: string, labels?: Labels): Promise<number>;
}

export function createMetricsRegistry(opts: { defaultLabels?: Labels; collectDefault?: boolean } = {}): MetricsRegistry {
  const registry = new prom.Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.collectDefault !== false) prom.collectDefaultMetrics({ register: registry });
  return {
    counter(o) {
      const c = new prom.Counter({ name: o.name, help: o.help, labelNames: [...(o.labelNames ?? [])], registers: [registry] });
      return {
        inc: (labels, value = 1) => (labels ? c.inc(labels, value) : c.inc(value)),
      };
    },
    gauge(o) {
      const collect = o.collect;
      const g = new prom.Gauge({
        name: o.name,
        help: o.help,
        labelNames: [...(o.labelNames ?? [])],
        registers: [registry],
        ...(collect
          ? {
              async collect(this: prom.Gauge) {
                this.set(await collect());
              },
            }
          : {}),
      });
      return {
        set: (value, labels) => (labels ? g.set(labels, value) : g.set(value)),
        inc: (labels, value = 1) => (labels ? g.inc(labels, value) : g.inc(value)),
        dec: (labels, value = 1) => (labels ? g.dec(labels, value) : g.dec(value)),
      };
    },
    histogram(o) {
      const h = new prom.Histogram({
        name: o.name,
        help: o.help,
        labelNames: [...(o.labelNames ?? [])],
        buckets: [...(o.buckets ?? [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])],
        registers: [registry],
      });
      return {
        observe: (value, labels) => (labels ? h.observe(labels, value) : h.observe(value)),
        startTimer: (labels) => h.startTimer(labels),
      };
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
    async value(name, labels) {
      const m = registry.getSingleMetric(name);
      if (!m) return 0;
      const data = await m.get();
      let sum = 0;
      for (const v of data.values) {
        if (labels && !Object.entries(labels).every(([k, want]) => String(v.labels[k]) === String(want))) continue;
        sum += v.value;
      }
      return sum;
    },
  };
}
