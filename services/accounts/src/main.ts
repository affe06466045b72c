import { ConfigError } from "@switchboard/config";
import { createLogger } from "@switchboard/log";
import { runMain } from "@switchboard/lifecycle";
import { describeAccountsConfig, loadAccountsConfig, startAccountsApp } from "./app.js";

let loaded: ReturnType<typeof loadAccountsConfig>;
try {
  loaded = loadAccountsConfig(process.env);
} catch (e: unknown) {
  process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
  process.exit(2);
}
const { config, warnings } = loaded;
const log = createLogger({ name: "accounts", level: config.logLevel });
for (const w of warnings) log.warn({}, w);
log.info({ config: describeAccountsConfig(config) }, "starting");
await runMain(() => startAccountsApp(config, { log }), { log, shutdownDeadlineMs: config.shutdownDeadlineMs });
