/**
 * What makes a request's header list malformed (RFC 9113 §8.2 and §8.3): field names with
 * upper-case letters or characters outside a token, values with NUL, CR or LF or with
 * whitespace at either end, connection-specific fields, `te` other than "trailers",
 * pseudo-header fields that are unknown, repeated, after a regular field or missing, and
 * pseudo-header fields in trailers. A malformed request is a stream error of type
 * PROTOCOL_ERROR (§8.1.1): it is never served.
 */

/** Characters a field name may not have (§8.2.1): controls, space, upper case, DEL and above, and ':' (but see pseudo-headers). */
const BAD_NAME = /[^!#$%&'*+\-.^_`|~0-9a-z]/;
/** A value may not contain NUL, CR or LF, nor start or end with space or tab (§8.2.1). */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;
/** Whether a field value breaks §8.2.1 (NUL, CR or LF, or whitespace at either end). */
export function badFieldValue(value: string): boolean {
  return BAD_VALUE.test(value);
}
const CONNECTION_SPECIFIC = new Set(["connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"]);

const METHOD = 1;
const SCHEME = 2;
const PATH = 4;
const AUTHORITY = 8;
const PSEUDO: Record<string, number> = { ":method": METHOD, ":scheme": SCHEME, ":path": PATH, ":authority": AUTHORITY };

function regularFieldError(name: string, value: string): string | undefined {
  if (name.length === 0 || BAD_NAME.test(name)) return `malformed field name ${JSON.stringify(name.slice(0, 64))}`;
  if (BAD_VALUE.test(value)) return `malformed value of ${name}`;
  if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  if (name === "te" && value !== "trailers") return "te other than trailers";
  return undefined;
}

/** Why a request's header list (name, value, name, value...) is malformed; undefined when it is not. */
export function requestHeaderError(fields: readonly string[]): string | undefined {
  let seen = 0;
  let regular = false;
  let method = "";
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.charCodeAt(0) === 0x3a) {
      const bit = PSEUDO[name];
      if (bit === undefined) return `unknown pseudo-header ${JSON.stringify(name.slice(0, 64))}`;
      if (regular) return `pseudo-header ${name} after a regular field`;
      if (seen & bit) return `repeated pseudo-header ${name}`;
      if (BAD_VALUE.test(value)) return `malformed value of ${name}`;
      seen |= bit;
      if (bit === METHOD) method = value;
      else if (bit === PATH && value.length === 0) return "empty :path";
      continue;
    }
    regular = true;
    const e = regularFieldError(name, value);
    if (e !== undefined) return e;
  }
  if (method === "CONNECT") return seen === (METHOD | AUTHORITY) ? undefined : "CONNECT with pseudo-headers other than :method and :authority";
  if ((seen & (METHOD | SCHEME | PATH)) !== (METHOD | SCHEME | PATH)) return "missing :method, :scheme or :path";
  return undefined;
}

/** Why a trailer section is malformed (no pseudo-headers, and the rules of every field). */
export function trailerHeaderError(fields: readonly string[]): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    const e = regularFieldError(name, fields[i + 1]!);
    if (e !== undefined) return e;
  }
  return undefined;
}
