import { ConfigError } from "@switchboard/config";
import { createLogger } from "@switchboard/log";
import { runMain } from "@switchboard/lifecycle";
import { describePostsConfig, loadPostsConfig, startPostsApp } from "./app.js";

let loaded: ReturnType<typeof loadPostsConfig>;
try {
  loaded = loadPostsConfig(process.env);
} catch (e: unknown) {
  process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
  process.exit(2);
}
const { config, warnings } = loaded;
const log = createLogger({ name: "posts", level: config.logLevel });
for (const w of warnings) log.warn({}, w);
log.info({ config: describePostsConfig(config) }, "starting");
await runMain(() => startPostsApp(config, { log }), { log, shutdownDeadlineMs: config.shutdownDeadlineMs });
