/**
 * The envelope that lets a process recognise its own broadcasts coming back from a broker with
 * no "no echo" option (Redis and Redis Cluster pub/sub): `\0<processId>\0<payload>`.
 * - `wrap(id, payload)`: with an id, the envelope; without one (`undefined`: Rails-compatible bare
 *   publishing) the payload as it is, unless it starts with `\0` itself, then an envelope with an
 *   empty id keeps it unambiguous.
 * - `unwrap(message)`: `{ origin, payload }`; a message without the leading `\0` (a Rails app
 *   publishing plain JSON) has origin "" and is its own payload; a `\0` with no closing `\0` is not
 *   ours and gives `undefined`.
 */
export const ENVELOPE_MARK = "\u0000";

export function wrap(processId: string | undefined, payload: string): string {
  if (processId !== undefined) return `${ENVELOPE_MARK}${processId}${ENVELOPE_MARK}${payload}`;
  return payload.startsWith(ENVELOPE_MARK) ? `${ENVELOPE_MARK}${ENVELOPE_MARK}${payload}` : payload;
}

export function unwrap(message: string): { origin: string; payload: string } | undefined {
  if (!message.startsWith(ENVELOPE_MARK)) return { origin: "", payload: message };
  const end = message.indexOf(ENVELOPE_MARK, 1);
  if (end < 0) return undefined;
  return { origin: message.slice(1, end), payload: message.slice(end + 1) };
}
