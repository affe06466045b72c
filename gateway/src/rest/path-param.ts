/**
 * A path parameter as a route sees it: percent-decoded, or as sent when its escapes are
 * malformed (`%ZZ`, a lone `%`, an encoded lone surrogate), which decodeURIComponent throws on
 * (a throw in a uWS handler ends the process). The route's own validation then refuses it
 * with a 400 like any other bad id.
 */
export function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
