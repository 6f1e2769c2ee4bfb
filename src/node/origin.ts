/**
 * Origin allow-lists. An entry is an exact origin string (compared case-insensitively, after
 * normalising default ports away), "*" (anything, including no Origin header), or a RegExp
 * tested against the header as sent. A function decides alone. Requests without an Origin
 * header (non-browser clients) are allowed by a list only if it contains "*": browsers always
 * send Origin on WebSocket requests, so this is what protects against cross-site WebSocket
 * hijacking while still letting a list be explicit about non-browser clients.
 */
import type { IncomingMessage } from "node:http";

export type OriginRule = Array<string | RegExp> | ((origin: string | undefined, req: IncomingMessage) => boolean);

function normalise(origin: string): string {
  const lower = origin.trim().toLowerCase();
  if (lower === "null") return lower;
  try {
    const url = new URL(lower);
    return url.origin; // drops default ports and trailing slashes
  } catch {
    return lower;
  }
}

/**
 * The origin a request claims: `Origin`, or for drafts hybi-07/08 (Sec-WebSocket-Version 7 or 8),
 * whose browsers sent it as `Sec-WebSocket-Origin`, that header (as ws and websocket-driver read it).
 */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const version = req.headers["sec-websocket-version"];
  if (version === "7" || version === "8") {
    const legacy = req.headers["sec-websocket-origin"];
    if (typeof legacy === "string") return legacy;
  }
  return req.headers.origin;
}

/** Compile an allow-list once into a predicate. */
export function compileOrigins(rule: OriginRule): (origin: string | undefined, req: IncomingMessage) => boolean {
  if (typeof rule === "function") return rule;
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  let any = false;
  for (const entry of rule) {
    if (entry instanceof RegExp) patterns.push(entry);
    else if (entry === "*") any = true;
    else exact.add(normalise(entry));
  }
  return (origin) => {
    if (any) return true;
    if (origin === undefined) return false;
    if (exact.has(normalise(origin))) return true;
    for (const pattern of patterns) {
      pattern.lastIndex = 0;
      if (pattern.test(origin)) return true;
    }
    return false;
  };
}
