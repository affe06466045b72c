import { runDeployable } from "@switchboard/runtime";
import { describePostsConfig, loadPostsConfig, startPostsApp } from "./app.js";

await runDeployable({ name: "posts", env: process.env, load: loadPostsConfig, describe: describePostsConfig, start: startPostsApp });
