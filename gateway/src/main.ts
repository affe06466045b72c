import { runDeployable } from "@switchboard/runtime";
import { describeGatewayConfig, loadGatewayConfig, startGatewayApp } from "./app.js";

await runDeployable({ name: "gateway", env: process.env, load: loadGatewayConfig, describe: describeGatewayConfig, start: startGatewayApp });
