/**
 * The self-signed certificate `--http2` makes at start (src/cli/self-signed.ts), judged by
 * node:crypto's X509Certificate, by OpenSSL (`openssl x509 -text`, `openssl verify -x509_strict
 * -purpose sslserver`) and by a TLS handshake whose client trusts only it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { connect, createServer } from "node:tls";
import { selfSignedCertificate } from "../../src/cli/self-signed.js";
import { event } from "../helpers/time.js";

const dir = mkdtempSync(join(tmpdir(), "wirecable-self-signed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("selfSignedCertificate", () => {
  const names = ["localhost", "127.0.0.1", "::1", "chat.example.test"];
  const made = selfSignedCertificate(names, 7);
  const x509 = new X509Certificate(made.cert);

  it("names: CN is the first name, every name in subjectAltName (DNS and IP)", () => {
    assert.equal(x509.subject, "CN=localhost");
    assert.equal(x509.issuer, "CN=localhost");
    assert.equal(
      x509.subjectAltName,
      "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:chat.example.test",
    );
    for (const host of ["localhost", "chat.example.test"]) assert.equal(x509.checkHost(host), host);
    for (const ip of ["127.0.0.1", "::1"]) assert.ok(x509.checkIP(ip), ip);
    assert.equal(x509.checkHost("other.example.test"), undefined);
  });

  it("validity: from an hour ago for the days asked; signed by its own key, which is the key returned", () => {
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    assert.ok(from <= Date.now() - 3_500_000 && from >= Date.now() - 3_700_000, x509.validFrom);
    assert.ok(Math.abs(to - from - (7 * 86_400_000 + 3_600_000)) < 2_000, x509.validTo);
    assert.ok(x509.verify(x509.publicKey), "self-signature");
    assert.ok(x509.checkPrivateKey(createPrivateKey(made.key)));
    assert.equal(createPublicKey(made.key).asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // extKeyUsage: serverAuth
  });

  it("OpenSSL reads every extension and verifies it strictly as a TLS server certificate", () => {
    const file = join(dir, "cert.pem");
    writeFileSync(file, made.cert);
    const text = execFileSync("openssl", ["x509", "-in", file, "-noout", "-text"], { encoding: "utf8" });
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature/);
    assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    const verified = execFileSync(
      "openssl",
      ["verify", "-x509_strict", "-purpose", "sslserver", "-partial_chain", "-CAfile", file, file],
      { encoding: "utf8" },
    );
    assert.equal(verified.trim(), `${file}: OK`);
  });

  it("a TLS client that trusts only this certificate connects to 127.0.0.1 and to localhost", async () => {
    const server = createServer({ cert: made.cert, key: made.key }, (socket) => socket.end("hi"));
    server.listen(0, "127.0.0.1");
    await event(server, "listening");
    const port = (server.address() as { port: number }).port;
    try {
      for (const servername of [undefined, "localhost"]) {
        const socket = connect({ host: "127.0.0.1", port, ca: made.cert, ...(servername ? { servername } : {}) });
        await event(socket, "secureConnect");
        assert.equal(socket.authorized, true);
        socket.destroy();
      }
      // ... and one trusting nothing refuses it.
      const refused = connect({ host: "127.0.0.1", port });
      const [error] = await event<[NodeJS.ErrnoException]>(refused, "error");
      assert.equal(error.code, "DEPTH_ZERO_SELF_SIGNED_CERT");
    } finally {
      server.close();
    }
  });

  it("refuses an empty name list", () => {
    assert.throws(() => selfSignedCertificate([]), TypeError);
  });
});
