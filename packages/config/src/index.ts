export type { Field, Schema, ConfigOf, LoadOptions, LoadResult } from "./schema.js";
export { str, int, bool, duration, oneOf, list, url, ConfigError, loadConfig, redactedConfig } from "./schema.js";
