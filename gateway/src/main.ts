import { ConfigError } from "@switchboard/config";
import { createLogger } from "@switchboard/log";
import { runMain } from "@switchboard/lifecycle";
import { describeGatewayConfig, loadGatewayConfig, startGatewayApp } from "./app.js";

let loaded: ReturnType<typeof loadGatewayConfig>;
try {
  loaded = loadGatewayConfig(process.env);
} catch (e: unknown) {
  process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
  process.exit(2);
}
const { config, warnings } = loaded;
const log = createLogger({ name: "gateway", level: config.logLevel });
for (const w of warnings) log.warn({}, w);
log.info({ config: describeGatewayConfig(config) }, "starting");
await runMain(() => startGatewayApp(config, { log }), { log, shutdownDeadlineMs: config.shutdownDeadlineMs });
