import { runDeployable } from "@switchboard/runtime";
import { describeAccountsConfig, loadAccountsConfig, startAccountsApp } from "./app.js";

await runDeployable({ name: "accounts", env: process.env, load: loadAccountsConfig, describe: describeAccountsConfig, start: startAccountsApp });
