/**
 * Configuration from environment variables: every key declared once with its type, default
 * and a one-line description; validated all at once at start.
 */

export interface Field<T> {
  /** Environment variable name, e.g. SB_POSTS_GRPC_PORT. */
  readonly env: string;
  readonly description: string;
  /** Absent means required. */
  readonly default?: T;
  /** Redacted in the startup log line. */
  readonly secret?: boolean;
  /** Parses a raw value; returns the value or an error message. */
  readonly parse: (raw: string) => { ok: true; value: T } | { ok: false; error: string };
}

export type Schema = Record<string, Field<unknown>>;
export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

interface Common<T> {
  env: string;
  description: string;
  default?: T;
  secret?: boolean;
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const fail = (error: string) => ({ ok: false as const, error });

export function str(o: Common<string> & { minLength?: number; pattern?: RegExp }): Field<string> {
  return {
    ...o,
    parse: (raw) => {
      if (o.minLength !== undefined && raw.length < o.minLength) return fail(`must be at least ${o.minLength} characters`);
      if (o.pattern && !o.pattern.test(raw)) return fail(`must match ${o.pattern}`);
      return ok(raw);
    },
  };
}

export function int(o: Common<number> & { min?: number; max?: number }): Field<number> {
  return {
    ...o,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) return fail(`must be an integer, got "${raw}"`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) return fail("is out of range");
      if (o.min !== undefined && n < o.min) return fail(`must be >= ${o.min}`);
      if (o.max !== undefined && n > o.max) return fail(`must be <= ${o.max}`);
      return ok(n);
    },
  };
}

/** Milliseconds; the variable name should end in _MS. */
export function duration(o: Common<number> & { min?: number; max?: number }): Field<number> {
  return int({ min: 0, ...o });
}

export function bool(o: Common<boolean>): Field<boolean> {
  return {
    ...o,
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return ok(true);
      if (["0", "false", "no", "off"].includes(v)) return ok(false);
      return fail(`must be true or false, got "${raw}"`);
    },
  };
}

export function oneOf<const T extends string>(o: Common<T> & { values: readonly T[] }): Field<T> {
  return {
    ...o,
    parse: (raw) => ((o.values as readonly string[]).includes(raw) ? ok(raw as T) : fail(`must be one of ${o.values.join(", ")}`)),
  };
}

/** Comma-separated list; empty entries are dropped. */
export function list(o: Common<readonly string[]> & { item?: RegExp }): Field<readonly string[]> {
  return {
    ...o,
    parse: (raw) => {
      const items = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const bad = o.item ? items.filter((s) => !o.item!.test(s)) : [];
      return bad.length > 0 ? fail(`has invalid entries: ${bad.join(", ")}`) : ok(Object.freeze(items));
    },
  };
}

export function url(o: Common<string> & { protocols?: readonly string[] }): Field<string> {
  return {
    ...o,
    parse: (raw) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        return fail(`must be a URL, got "${raw}"`);
      }
      if (o.protocols && !o.protocols.includes(u.protocol.replace(/:$/, ""))) {
        return fail(`must use ${o.protocols.join(" or ")}`);
      }
      return ok(raw);
    },
  };
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export interface LoadOptions {
  /** Variables with this prefix that the schema does not declare are reported as warnings. */
  readonly prefix?: string;
  /** Other declared names under the prefix that this process tolerates (shared settings). */
  readonly alsoKnown?: readonly string[];
}

export interface LoadResult<S extends Schema> {
  readonly config: ConfigOf<S>;
  /** Unknown variables under the prefix: usually typos. */
  readonly warnings: readonly string[];
}

/** Parses every field; throws one ConfigError listing every problem. */
export function loadConfig<S extends Schema>(schema: S, env: Readonly<Record<string, string | undefined>>, opts: LoadOptions = {}): LoadResult<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema)) {
    const raw = env[field.env];
    if (raw === undefined || raw === "") {
      if (field.default === undefined) problems.push(`${field.env} is required (${field.description})`);
      else out[key] = field.default;
      continue;
    }
    const r = field.parse(raw);
    if (r.ok) out[key] = r.value;
    else problems.push(`${field.env} ${r.error}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const warnings: string[] = [];
  if (opts.prefix) {
    const known = new Set([...Object.values(schema).map((f) => f.env), ...(opts.alsoKnown ?? [])]);
    for (const name of Object.keys(env)) {
      if (name.startsWith(opts.prefix) && !known.has(name)) warnings.push(`unknown variable ${name}`);
    }
  }
  return { config: Object.freeze(out) as ConfigOf<S>, warnings };
}

/** The effective configuration for the startup log line, secrets replaced. */
export function redactedConfig<S extends Schema>(schema: S, config: ConfigOf<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema)) {
    const v = (config as Record<string, unknown>)[key];
    out[field.env] = field.secret && v !== "" && v !== undefined ? "[redacted]" : redactUrl(v);
  }
  return out;
}

function redactUrl(v: unknown): unknown {
  if (typeof v !== "string" || !v.includes("://") || !v.includes("@")) return v;
  try {
    const u = new URL(v);
    if (u.password) u.password = "redacted";
    return u.toString();
  } catch {
    return v;
  }
}
