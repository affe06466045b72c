/**
 * The webapp's data layer against a running Switchboard: the unmodified `mattermost-redux`
 * store (the one the Mattermost webapp builds) with its Client4 pointed at a gateway. The
 * only addition is a recorder around the global `fetch` (which the browser provides to the
 * webapp, and Node 20 provides here): it passes every request through and notes its method,
 * path, status and JSON body, so a test can see every call an action makes and how each was
 * answered.
 *
 * mattermost-redux keeps one Client4 per process: one webapp session per test file.
 */
import { createRequire } from "node:module";
import type { GlobalState } from "@mattermost/types/store";
import type * as ClientModule from "mattermost-redux/client";

// CommonJS, loaded by Node's own loader: the same module objects its actions require.
const require = createRequire(import.meta.url);
const configureStore = (require("mattermost-redux/store") as { default: (o: object) => Store }).default;
const clientModule = require("mattermost-redux/client") as typeof ClientModule;

/** A mattermost-redux module (e.g. "mattermost-redux/actions/users"), as the webapp loads it. */
export function redux<T>(name: string): T {
  return require(name) as T;
}

interface Call {
  readonly method: string;
  /** Path and query, e.g. /api/v4/users/me */
  readonly path: string;
  readonly status: number;
  /** The JSON body of the answer (undefined when it was not JSON). */
  readonly body: unknown;
}

/** The part of the redux store the tests use. */
interface Store {
  getState(): GlobalState;
  dispatch(action: unknown): unknown;
}

export interface WebappSession {
  readonly store: Store;
  /** Every request made since the session started, in the order they were answered. */
  readonly calls: Call[];
  /** The session token the store's Client4 sends (a session of its own, apart from other logins). */
  readonly token: string;
  /** Dispatches an action (a mattermost-redux action creator's result) and awaits it. */
  dispatch<T>(action: unknown): Promise<T>;
  /** Calls made from index `from` on. */
  since(from: number): Call[];
}

let recording: Call[] | undefined;
let installed = false;

function installRecorder(): void {
  if (installed) return;
  installed = true;
  const real = globalThis.fetch;
  globalThis.fetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await real(input, init);
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    let body: unknown;
    if ((res.headers.get("content-type") ?? "").startsWith("application/json")) {
      const text = await res.clone().text();
      body = text === "" ? undefined : (JSON.parse(text) as unknown);
    }
    recording?.push({ method: (init?.method ?? "GET").toUpperCase(), path: url.pathname + url.search, status: res.status, body });
    return res;
  };
}

/** Builds the webapp's store, points its Client4 at `baseUrl` and logs in as the user. */
export async function webappSession(baseUrl: string, loginId: string, password: string): Promise<WebappSession> {
  installRecorder();
  const calls: Call[] = [];
  recording = calls;
  const { Client4 } = clientModule;
  Client4.setUrl(baseUrl);
  Client4.setToken("");
  await Client4.login(loginId, password);
  const store = configureStore({});
  return {
    store,
    calls,
    token: Client4.getToken(),
    dispatch: async <T>(action: unknown) => (await store.dispatch(action)) as T,
    since: (from) => calls.slice(from),
  };
}
