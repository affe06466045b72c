import { ConfigError } from "@switchboard/config";
import { createLogger } from "@switchboard/log";
import { runMain } from "@switchboard/lifecycle";
import { describePresenceConfig, loadPresenceConfig, startPresenceApp } from "./app.js";

let loaded: ReturnType<typeof loadPresenceConfig>;
try {
  loaded = loadPresenceConfig(process.env);
} catch (e: unknown) {
  process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
  process.exit(2);
}
const { config, warnings } = loaded;
const log = createLogger({ name: "presence", level: config.logLevel });
for (const w of warnings) log.warn({}, w);
log.info({ config: describePresenceConfig(config) }, "starting");
await runMain(() => startPresenceApp(config, { log }), { log, shutdownDeadlineMs: config.shutdownDeadlineMs });
