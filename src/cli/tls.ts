/**
 * `--http2 [--cert FILE --key FILE]` for the CLI servers: serve WebSockets over HTTP/2 (RFC 8441)
 * and HTTP/1.1 on one TLS port (ALPN h2 and http/1.1), with the given certificate or, without
 * one, a self-signed certificate made at start (src/cli/self-signed.ts: localhost, 127.0.0.1,
 * ::1 and the `--host` given). With `--workers`, the primary makes it once and every worker
 * serves the same one (passed in the environment the workers inherit). `--cert`/`--key` go
 * together and need `--http2`.
 */
import { readFileSync } from "node:fs";
import { createSecureServer, type Http2SecureServer } from "node:http2";
import { isIP } from "node:net";
import { type Command, InvalidArgumentError } from "commander";
import { selfSignedCertificate } from "./self-signed.js";

export interface Http2Options {
  http2: boolean;
  cert?: string;
  key?: string;
}

/** The environment variable that hands the primary's self-signed certificate to its workers. */
const INHERITED = "WIRECABLE_SELF_SIGNED_TLS";

export function addHttp2Options(command: Command): Command {
  return command
    .option("--http2", "serve WebSockets over HTTP/2 (RFC 8441) and HTTP/1.1 on one TLS port", false)
    .option("--cert <file>", "TLS certificate (PEM) for --http2 (default: a self-signed one made at start)")
    .option("--key <file>", "TLS private key (PEM) for --http2");
}

/** Check the option combination (before anything starts). */
export function checkHttp2Options(opts: Http2Options): void {
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new InvalidArgumentError("--cert and --key go together");
  }
  if (opts.cert !== undefined && !opts.http2) throw new InvalidArgumentError("--cert and --key need --http2");
}

/**
 * The certificate and key to serve: the files given, or a self-signed pair (made once per
 * command, shared with workers). `selfSigned` tells which, for the startup note.
 */
export function tlsMaterial(opts: Http2Options, host: string): { cert: string; key: string; selfSigned: boolean } {
  if (opts.cert !== undefined && opts.key !== undefined) {
    return { cert: readFileSync(opts.cert, "utf8"), key: readFileSync(opts.key, "utf8"), selfSigned: false };
  }
  const inherited = process.env[INHERITED];
  if (inherited !== undefined) return { ...(JSON.parse(inherited) as { cert: string; key: string }), selfSigned: true };
  const names = ["localhost", "127.0.0.1", "::1"];
  if (host !== "0.0.0.0" && host !== "::" && !names.includes(host)) names.push(host.replace(/^\[|\]$/g, ""));
  const made = selfSignedCertificate(names.filter((n) => isIP(n) !== 0 || /^[\w.-]+$/.test(n)));
  process.env[INHERITED] = JSON.stringify(made);
  return { ...made, selfSigned: true };
}

/** An HTTP/2 server over TLS that also takes HTTP/1.1 (a WebSocketServer attaches to it). */
export function createTlsServer(material: { cert: string; key: string }): Http2SecureServer {
  return createSecureServer({ cert: material.cert, key: material.key, allowHTTP1: true });
}
