/**
 * Whether a TLS server asks its peer for a client certificate, as seen on the wire: Debian's
 * `openssl s_client` (which makes the dev CA already) prints the signature algorithms of the
 * server's CertificateRequest, and only when one came. Bounded: 10 s, then it fails.
 */
import { execFile } from "node:child_process";

export function asksForClientCertificate(port: number, serverName: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "openssl",
      ["s_client", "-connect", `127.0.0.1:${port}`, "-alpn", "h2", "-servername", serverName],
      { timeout: 10_000 },
      (e, stdout, stderr) => {
        const out = `${stdout}${stderr}`;
        // s_client exits 0 once stdin closes; a handshake that never finished prints no ALPN line.
        if (!/ALPN protocol: h2/.test(out)) return reject(new Error(`no TLS handshake with 127.0.0.1:${port}: ${e?.message ?? out.slice(0, 500)}`));
        resolve(/^Requested Signature Algorithms:/m.test(out));
      },
    );
    child.stdin?.end();
  });
}
