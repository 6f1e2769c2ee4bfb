/**
 * The envelope that lets a process recognise its own broadcasts coming back from a broker with
 * no "no echo" option (Redis and Redis Cluster pub/sub): `\0<processId>\0<payload>`.
 * - `wrap(id, payload)`: with an id, the envelope; without one (`undefined`: Rails-compatible bare
 *   publishing) the payload as it is, unless it starts with `\0` itself, then an envelope with an
 *   empty id keeps it unambiguous.
 * - `unwrap(message)`: `{ origin, payload }`; a message without the leading `\0` (a Rails app
 *   publishing plain JSON) has origin "" and is its own payload; a `\0` with no closing `\0` is not
 *   ours and gives `undefined`.
 * - A message on a stream that keeps history carries its position instead (published by the
 *   store's script, redis-scripts.ts): `\u0001<epoch>\u0001<offset>\u0001<payload>`;
 *   `unwrapPosition(message)` reads it (undefined for anything else). A JSON payload never
 *   starts with \u0001, so neither envelope can be taken for the other or for a bare payload.
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

export const POSITION_MARK = "\u0001";

export function unwrapPosition(
  message: string,
): { payload: string; position: { epoch: string; offset: number } } | undefined {
  if (!message.startsWith(POSITION_MARK)) return undefined;
  const a = message.indexOf(POSITION_MARK, 1);
  const b = a < 0 ? -1 : message.indexOf(POSITION_MARK, a + 1);
  if (b < 0) return undefined;
  const offset = Number(message.slice(a + 1, b));
  if (!Number.isSafeInteger(offset)) return undefined;
  return { payload: message.slice(b + 1), position: { epoch: message.slice(1, a), offset } };
}

/**
 * What a pub/sub message received from Redis or Redis Cluster delivers: its payload and, on a
 * stream that keeps history, its position; `undefined` for a message to skip (not ours, or our
 * own echo when the broker already delivered it locally).
 */
export function received(
  message: string,
  ownEcho: string | undefined,
): { payload: string; position?: { epoch: string; offset: number } } | undefined {
  const stamped = unwrapPosition(message);
  if (stamped !== undefined) return stamped;
  const envelope = unwrap(message);
  if (envelope === undefined || (ownEcho !== undefined && envelope.origin === ownEcho)) return undefined;
  return envelope;
}
