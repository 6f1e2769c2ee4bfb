/**
 * Server-Sent Events (the `text/event-stream` format, HTML Living Standard 9.2.6), sans I/O:
 * the encoder the fallback server writes with and the incremental parser its client reads with.
 *
 * Contract:
 * - {@link encodeEvent}`(data, type?)` renders one event: an `event:` line unless the type is
 *   the default ("message"), one `data:` line per line of `data`, and the blank line that
 *   dispatches it. `data` must not contain CR (SSE reads a lone CR as a line break): callers
 *   send such text another way (see wire.ts, `DownEvent.text`).
 * - {@link SseParser}`.push(text)` takes decoded text in chunks split anywhere (a CRLF split
 *   between two chunks included) and returns the events completed by it, in order, as the
 *   standard dispatches them: lines end with CRLF, LF or CR; `:` starts a comment; `data` lines
 *   are joined with LF; an event with no data is not dispatched; `id` and `retry` are accepted
 *   and ignored (the fallback resumes by counting events instead). A leading BOM is dropped.
 * - Memory is bounded: an event whose buffered lines exceed `maxEventLength` characters throws a
 *   RangeError (a server streaming one endless line cannot exhaust the client).
 */

/** One dispatched event: its type ("message" when the stream named none) and data. */
export interface SseEvent {
  type: string;
  data: string;
}

/** Render one event (see the module comment; `data` must not contain "\r"). */
export function encodeEvent(data: string, type?: string): string {
  const head = type === undefined || type === "message" ? "" : `event: ${type}\n`;
  if (data.indexOf("\n") === -1) return `${head}data: ${data}\n\n`;
  return `${head}data: ${data.replaceAll("\n", "\ndata: ")}\n\n`;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

export class SseParser {
  readonly #max: number;
  /** The unfinished line (text after the last line break). */
  #line = "";
  /** The previous chunk ended with CR: a LF starting this one belongs to it. */
  #afterCr = false;
  #started = false;
  #type = "";
  #data = "";
  #hasData = false;

  constructor(maxEventLength = 64 * 1024 * 1024) {
    this.#max = maxEventLength;
  }

  /** Feed decoded text; returns the events it completed (often none or one). */
  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.#afterCr && start < text.length) {
      this.#afterCr = false;
      if (text.charCodeAt(start) === LF) start++;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.#line === "" ? text.slice(start, i) : this.#line + text.slice(start, i);
      this.#line = "";
      this.#onLine(line, events);
      if (c === CR) {
        if (i + 1 === text.length) this.#afterCr = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
    }
    if (start < text.length) {
      this.#line += text.slice(start);
      if (this.#line.length + this.#data.length > this.#max) {
        throw new RangeError(`event-stream event longer than ${this.#max} characters`);
      }
    }
    return events;
  }

  #onLine(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      if (this.#hasData) {
        events.push({ type: this.#type === "" ? "message" : this.#type, data: this.#data });
      }
      this.#type = "";
      this.#data = "";
      this.#hasData = false;
      return;
    }
    if (line.charCodeAt(0) === COLON) return; // a comment
    const colon = line.indexOf(":");
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    }
    if (field === "data") {
      this.#data = this.#hasData ? `${this.#data}\n${value}` : value;
      this.#hasData = true;
      if (this.#data.length > this.#max) {
        throw new RangeError(`event-stream event longer than ${this.#max} characters`);
      }
    } else if (field === "event") {
      this.#type = value;
    }
  }
}
