/**
 * The parsed head of an HTTP/1.x request or response (the result of `HttpHeadParser`), sans I/O.
 * Contract: `rawHeaders` (pairs) and `headers` (a Map by lowercased name) as documented on
 * `HttpHead`; the parser's heads keep the lines flat and pair them on first read of
 * `rawHeaders`; `flatRawHeaders` gives the flat form (node:http's `rawHeaders`).
 */

/** A parsed HTTP/1.x request or response head (what `HttpHeadParser.push` returns when complete). */
export interface HttpHead {
  /** Request only: the method, case preserved. */
  method?: string;
  /** Request only: the request target as sent. */
  target?: string;
  /** Response only: the status code. */
  status?: number;
  /** Response only: the reason phrase ("" if none). */
  statusText?: string;
  /** "1.1" (the digits of HTTP-version, like node:http's `httpVersion`). */
  httpVersion: string;
  /** Header lines in order, names as sent, values trimmed. */
  rawHeaders: Array<[string, string]>;
  /** Lowercased names; several lines of one name joined with ", " (RFC 7230 3.2.2). */
  headers: Map<string, string>;
}

/**
 * The parser's head: the header lines are kept flat (name, value, name, value..., node:http's
 * `rawHeaders` form, see {@link flatRawHeaders}); `rawHeaders` pairs them on first read, so a
 * caller that reads only the flat form allocates no array per line.
 */
export class ParsedHead implements HttpHead {
  declare method?: string;
  declare target?: string;
  declare status?: number;
  declare statusText?: string;
  httpVersion: string;
  headers: Map<string, string>;
  readonly #raw: string[];
  #pairs: Array<[string, string]> | undefined;

  constructor(httpVersion: string, raw: string[], headers: Map<string, string>) {
    this.httpVersion = httpVersion;
    this.headers = headers;
    this.#raw = raw;
  }

  get rawHeaders(): Array<[string, string]> {
    if (this.#pairs === undefined) {
      const raw = this.#raw;
      const pairs: Array<[string, string]> = new Array(raw.length >> 1);
      for (let i = 0; i < pairs.length; i++) pairs[i] = [raw[2 * i], raw[2 * i + 1]];
      this.#pairs = pairs;
    }
    return this.#pairs;
  }

  set rawHeaders(pairs: Array<[string, string]>) {
    this.#pairs = pairs;
  }

  /** The flat lines while `rawHeaders` was not replaced, else undefined. */
  static flat(head: ParsedHead): string[] | undefined {
    return head.#pairs === undefined ? head.#raw : undefined;
  }
}

/**
 * A head's header lines flat, as node:http's `rawHeaders` (name, value, name, value...). For a
 * head from {@link HttpHeadParser} this is the parser's own array (no copy): the caller owns it.
 */
export function flatRawHeaders(head: HttpHead): string[] {
  const flat = head instanceof ParsedHead ? ParsedHead.flat(head) : undefined;
  if (flat !== undefined) return flat;
  const pairs = head.rawHeaders;
  const raw: string[] = new Array(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    raw[2 * i] = pairs[i][0];
    raw[2 * i + 1] = pairs[i][1];
  }
  return raw;
}
