/** REST requests and responses as the handlers see them (no uWS types). */
export interface RestRequest {
  readonly method: string;
  readonly path: string;
  /** Path parameters by name (`:user_id` -> user_id). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Lower-case header names. */
  header(name: string): string;
  readonly body: Buffer;
  readonly requestId: string;
  /** The client's address: the peer's, or a trusted proxy's header (http/client-ip.ts). */
  readonly clientIp: string;
}

export interface RestResponse {
  readonly status: number;
  /** Serialized as JSON with Content-Type: application/json (exactly: Client4 compares it). */
  readonly json?: unknown;
  /** Raw bytes instead of JSON (the route sets Content-Type among its headers). */
  readonly body?: Buffer;
  readonly headers?: readonly (readonly [string, string])[];
}

type RestHandler = (req: RestRequest) => Promise<RestResponse>;

export interface RouteSpec {
  readonly method: "get" | "post" | "put" | "del" | "patch";
  /** uWS pattern, e.g. /api/v4/users/:user_id */
  readonly pattern: string;
  readonly handler: RestHandler;
}

export const ok = (json: unknown, status = 200, headers?: readonly (readonly [string, string])[]): RestResponse => ({
  status,
  json,
  ...(headers ? { headers } : {}),
});
export const statusOk = (): RestResponse => ({ status: 200, json: { status: "OK" } });
