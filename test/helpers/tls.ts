/**
 * TLS material for tests: one self-signed certificate per test process, made by the CLI's own
 * generator (src/cli/self-signed.ts, which the CLI's `--http2` uses when no `--cert` is given),
 * valid for localhost, 127.0.0.1 and ::1. Clients trust it with `ca: TLS.cert`.
 */
import { type SelfSignedCertificate, selfSignedCertificate } from "../../src/cli/self-signed.js";

let made: SelfSignedCertificate | undefined;

/** The process's certificate and key (made on first use). */
export function testCertificate(): SelfSignedCertificate {
  made ??= selfSignedCertificate();
  return made;
}
