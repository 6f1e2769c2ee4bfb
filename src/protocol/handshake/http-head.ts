/**
 * The parsed head of an HTTP/1.x request or response (the result of `HttpHeadParser`), sans I/O.
 * Contract: `rawHeaders` (pairs) and `headers` (a Map by lowercased name) as documented on
 * `HttpHead`. The parser's heads are plain objects ({@link plainHead}); a parser made with the
 * internal `HttpHeadParser.lazy` returns a {@link ParsedHead} instead, which keeps the lines flat
 * with each line's lowercased name and makes the pairs and the Map when first read;
 * `flatRawHeaders` gives the flat form (node:http's `rawHeaders`) and `headerKeys` the names, for
 * a caller that needs neither.
 */

import { asciiLower } from "./header-tokens.js";

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

/** Header lines flat (name, value, ...) as `[name, value]` pairs. */
function pairsOf(raw: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0; i < pairs.length; i++) pairs[i] = [raw[2 * i], raw[2 * i + 1]];
  return pairs;
}

/** The headers Map of flat lines and their lowercased names: several lines of one name joined with ", ". */
function mapOf(keys: string[], raw: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < keys.length; i++) {
    const previous = map.get(keys[i]);
    const value = raw[2 * i + 1];
    map.set(keys[i], previous === undefined ? value : `${previous}, ${value}`);
  }
  return map;
}

/** A plain head object (own data properties) of flat lines and their lowercased names. */
export function plainHead(httpVersion: string, raw: string[], keys: string[]): HttpHead {
  return { httpVersion, rawHeaders: pairsOf(raw), headers: mapOf(keys, raw) };
}

/**
 * A lazy parser's head (`HttpHeadParser.lazy`): the header lines are kept flat (name, value,
 * name, value..., node:http's `rawHeaders` form, see {@link flatRawHeaders}) with each line's
 * lowercased name; `rawHeaders`
 * and `headers` are made on first read, so a caller that reads only the flat form allocates no
 * array per line and no Map. They are accessors on the prototype, not own properties: spreading,
 * `Object.keys` or `JSON.stringify` of such a head does not see them (the plain heads' shape is
 * the public one).
 */
export class ParsedHead implements HttpHead {
  declare method?: string;
  declare target?: string;
  declare status?: number;
  declare statusText?: string;
  httpVersion: string;
  readonly #raw: string[];
  readonly #keys: string[];
  #pairs: Array<[string, string]> | undefined;
  #headers: Map<string, string> | undefined;
  /** `rawHeaders` was assigned: the flat lines no longer describe the head. */
  #replaced = false;

  constructor(httpVersion: string, raw: string[], keys: string[]) {
    this.httpVersion = httpVersion;
    this.#raw = raw;
    this.#keys = keys;
  }

  get rawHeaders(): Array<[string, string]> {
    this.#pairs ??= pairsOf(this.#raw);
    return this.#pairs;
  }

  set rawHeaders(pairs: Array<[string, string]>) {
    this.#pairs = pairs;
    this.#replaced = true;
  }

  /** Lowercased names; several lines of one name joined with ", " (RFC 7230 3.2.2). */
  get headers(): Map<string, string> {
    this.#headers ??= mapOf(this.#keys, this.#raw);
    return this.#headers;
  }

  set headers(map: Map<string, string>) {
    this.#headers = map;
  }

  /** The flat lines while `rawHeaders` was not assigned, else undefined. */
  static flat(head: ParsedHead): string[] | undefined {
    return head.#replaced ? undefined : head.#raw;
  }

  /** Each flat line's lowercased name while `rawHeaders` was not assigned, else undefined. */
  static keys(head: ParsedHead): string[] | undefined {
    return head.#replaced ? undefined : head.#keys;
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

/**
 * Each line's lowercased name, in the order of {@link flatRawHeaders} (the parser's own array for
 * its heads: the caller must not change it).
 */
export function headerKeys(head: HttpHead): string[] {
  const keys = head instanceof ParsedHead ? ParsedHead.keys(head) : undefined;
  if (keys !== undefined) return keys;
  const pairs = head.rawHeaders;
  const out: string[] = new Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) out[i] = asciiLower(pairs[i][0]);
  return out;
}
