import { runDeployable } from "@switchboard/runtime";
import { describePresenceConfig, loadPresenceConfig, startPresenceApp } from "./app.js";

await runDeployable({ name: "presence", env: process.env, load: loadPresenceConfig, describe: describePresenceConfig, start: startPresenceApp });
