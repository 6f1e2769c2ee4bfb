/**
 * Default limits, each with the reason for its value. All are configurable; 0 disables a limit.
 */
import { OptionError } from "./errors.js";

/**
 * Max message size: 64 MiB. Large enough for file transfers in one message (websocket-driver
 * also uses 64 MiB), small enough that a few hostile peers cannot exhaust a 24 GiB machine.
 * `ws` uses 100 MiB, python-websockets 1 MiB; the demo server lowers it to 64 KiB.
 */
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;

/**
 * Max frames per fragmented message: 4096. Real clients fragment large messages into at most a
 * few hundred frames; a flood of empty fragments (ws CVE-2026-48779) costs an object per frame.
 */
export const DEFAULT_MAX_FRAGMENTS = 4096;

/** Max request/status line: 8 KiB (nginx's large_client_header_buffers default). Exceeded: 414/400. */
export const DEFAULT_MAX_START_LINE = 8 * 1024;
/** Max single header line: 8 KiB (nginx default). Exceeded: 431. */
export const DEFAULT_MAX_HEADER_LINE = 8 * 1024;
/** Max header count: 100 (Node's http default maxHeadersCount is 2000; browsers send ~15). Exceeded: 431. */
export const DEFAULT_MAX_HEADER_COUNT = 100;
/** Max total handshake head: 16 KiB (Node's http default max header size). Exceeded: 431. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** Max body read from a failed client handshake response (kept for the error): 4 KiB. */
export const DEFAULT_MAX_ERROR_BODY = 4 * 1024;

/** Validate the engine's size options and apply the defaults. Throws OptionError on a bad value. */
export function resolveLimits(options: { maxPayload?: number; maxFragments?: number; fragmentSize?: number }): {
  maxPayload: number;
  maxFragments: number;
  fragmentSize: number;
} {
  const check = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < 0) throw new OptionError(name, "must be a non-negative integer");
    return value;
  };
  return {
    maxPayload: check("maxPayload", options.maxPayload, DEFAULT_MAX_PAYLOAD),
    maxFragments: check("maxFragments", options.maxFragments, DEFAULT_MAX_FRAGMENTS),
    // Outgoing auto-fragmentation: 0 sends each message as one frame.
    fragmentSize: check("fragmentSize", options.fragmentSize, 0),
  };
}
