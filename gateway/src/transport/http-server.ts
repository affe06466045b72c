/**
 * REST routes on uWebSockets.js: headers copied synchronously, abort handling, the body read
 * with a size limit, the handler's response (or Mattermost-shaped error) written corked.
 */
import type { Logger } from "@switchboard/log";
import { AppError, newId } from "@switchboard/model";
import { errorBody, httpStatusOf, retryAfterHeader, statusLine } from "../errors.js";
import { clientIp, type ClientIpPolicy } from "../http/client-ip.js";
import type { GatewayMetrics } from "../metrics.js";
import { decodePathParam } from "../rest/path-param.js";
import type { RestRequest, RestResponse, RouteSpec } from "../rest/rest-types.js";
import type { Uws } from "./uws.js";

export interface HttpOptions {
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly maxRequestBytes: number;
  /** X-Version-Id on every answer (versionId()). */
  readonly versionId: string;
  readonly clientIp: ClientIpPolicy;
}

export function registerRoutes(app: Uws.TemplatedApp, routes: readonly RouteSpec[], o: HttpOptions): void {
  for (const r of routes) {
    const names = [...r.pattern.matchAll(/:([a-z_]+)/g)].map((m) => m[1]!);
    app[r.method](r.pattern, (res, req) => handle(res, req, r, names, o));
  }
  // Unknown API paths answer like Mattermost's 404 handler, not with uWS's empty 404.
  app.any("/api/v4/*", (res, req) => {
    const requestId = newId();
    const e = new AppError("not_found", "Sorry, we could not find the page.", "api.context.404.app_error");
    void req;
    write(res, { status: 404, json: errorBody(e, requestId) }, requestId, o, () => false);
  });
}

function handle(res: Uws.HttpResponse, req: Uws.HttpRequest, route: RouteSpec, names: string[], o: HttpOptions): void {
  const started = process.hrtime.bigint();
  const requestId = newId();
  const headers = new Map<string, string>();
  req.forEach((k, v) => {
    // Every line of a client-IP header counts (a proxy may add its own line), the others' last.
    const prev = headers.get(k);
    headers.set(k, prev !== undefined && o.clientIp.headers.includes(k) ? `${prev},${v}` : v);
  });
  const ip = clientIp(o.clientIp, Buffer.from(res.getRemoteAddressAsText()).toString(), (name) => headers.get(name) ?? "");
  const params: Record<string, string> = {};
  names.forEach((n, i) => (params[n] = decodePathParam(req.getParameter(i))));
  const method = req.getMethod();
  const path = req.getUrl();
  const query = new URLSearchParams(req.getQuery() ?? "");
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });

  const finish = (r: RestResponse): void => {
    write(res, r, requestId, o, () => aborted);
    o.metrics.httpRequest(route.pattern, r.status, Number(process.hrtime.bigint() - started) / 1e9);
  };
  const fail = (e: unknown): void => {
    const err = AppError.from(e);
    if (err.code === "internal") o.log.error({ err: e, request_id: requestId, route: route.pattern, client_ip: ip }, "request failed");
    const retry = retryAfterHeader(err);
    finish({ status: httpStatusOf(err), json: errorBody(err, requestId), ...(retry ? { headers: [retry] } : {}) });
  };

  const declared = Number(headers.get("content-length") ?? "0");
  if (declared > o.maxRequestBytes) {
    fail(new AppError("resource_exhausted", "Request body too large.", "api.context.request_body_too_large.app_error"));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  res.onData((chunk, last) => {
    if (tooBig) return;
    size += chunk.byteLength;
    if (size > o.maxRequestBytes) {
      tooBig = true;
      fail(new AppError("resource_exhausted", "Request body too large.", "api.context.request_body_too_large.app_error"));
      return;
    }
    // The chunk's memory is reused by uWS after this callback: copy it.
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!last) return;
    const body = Buffer.concat(chunks);
    const rr: RestRequest = {
      method,
      path,
      params,
      query,
      header: (name) => headers.get(name) ?? "",
      body,
      requestId,
      clientIp: ip,
    };
    route.handler(rr).then(finish, fail);
  });
}

function write(res: Uws.HttpResponse, r: RestResponse, requestId: string, o: HttpOptions, aborted: () => boolean): void {
  if (aborted()) return;
  res.cork(() => {
    res.writeStatus(statusLine(r.status));
    res.writeHeader("X-Request-Id", requestId);
    res.writeHeader("X-Version-Id", o.versionId);
    for (const [k, v] of r.headers ?? []) res.writeHeader(k, v);
    if (r.json !== undefined) {
      res.writeHeader("Content-Type", "application/json");
      res.end(JSON.stringify(r.json));
    } else if (r.body !== undefined) {
      res.end(r.body);
    } else {
      res.end();
    }
  });
}
