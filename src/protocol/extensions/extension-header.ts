/**
 * `Sec-WebSocket-Extensions` parsing and rendering (RFC 6455 section 9.1), in one linear pass
 * over the value with no regular expressions (websocket-extensions CVE-2020-7662 was a ReDoS in
 * exactly this header). Contract: `parseExtensions` never throws; it returns every offer in
 * header order (duplicates kept, parameters in `rawParams` in order) or null if the value is
 * not valid; `renderExtensions` throws a TypeError on names or values that cannot be rendered.
 *
 * Grammar (RFC 6455 9.1, with RFC 7230 list and whitespace rules):
 *   extension-list = 1#extension
 *   extension = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" (token | quoted-string) ]
 *   ; "When using the quoted-string syntax variant, the value after quoted-string unescaping
 *   ;  MUST conform to the 'token' ABNF." -- enforced: anything else is invalid.
 * OWS is allowed around ",", ";" and "="; empty list elements are skipped (RFC 7230 7).
 * Several header lines are joined with ", " before parsing (RFC 7230 3.2.2).
 */

import { isOws, isToken, TCHAR } from "../handshake/header-tokens.js";
import type { ExtensionOffer, ExtensionParams } from "./extension.js";

function defineParam(params: Record<string, string | true>, name: string, value: string | true): void {
  // defineProperty, not assignment: a parameter named "__proto__" must stay a plain own key.
  Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Parse a header value into offers, or null if its syntax is invalid (or it holds no extension). */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  const n = value.length;
  let i = 0;

  const skipOws = (): void => {
    while (i < n && isOws(value.charCodeAt(i))) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c >= 256 || TCHAR[c] !== 1) break;
      i++;
    }
    return value.slice(start, i);
  };

  while (i < n) {
    skipOws();
    if (i < n && value.charCodeAt(i) === 0x2c) {
      i++; // empty list element
      continue;
    }
    if (i >= n) break;
    const name = readToken();
    if (name.length === 0) return null;
    const params: Record<string, string | true> = {};
    const rawParams: Array<readonly [string, string | true]> = [];
    skipOws();
    while (i < n && value.charCodeAt(i) === 0x3b /* ; */) {
      i++;
      skipOws();
      const param = readToken();
      if (param.length === 0) return null;
      skipOws();
      let paramValue: string | true = true;
      if (i < n && value.charCodeAt(i) === 0x3d /* = */) {
        i++;
        skipOws();
        if (i < n && value.charCodeAt(i) === 0x22 /* " */) {
          i++;
          let unescaped = "";
          let closed = false;
          while (i < n) {
            const c = value.charCodeAt(i);
            if (c === 0x22) {
              closed = true;
              i++;
              break;
            }
            if (c === 0x5c /* \ */) {
              // RFC 7230 3.2.6: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
              i++;
              if (i >= n) return null;
            }
            unescaped += value[i];
            i++;
          }
          if (!closed || !isToken(unescaped)) return null;
          paramValue = unescaped;
        } else {
          paramValue = readToken();
          if (paramValue.length === 0) return null;
        }
        skipOws();
      }
      rawParams.push([param, paramValue]);
      if (!Object.hasOwn(params, param)) defineParam(params, param, paramValue);
    }
    if (i < n && value.charCodeAt(i) !== 0x2c) return null;
    i++; // past "," (or past the end)
    offers.push({ name, params, rawParams });
  }
  return offers.length > 0 ? offers : null;
}

function renderValue(name: string, value: string): string {
  if (isToken(value)) return value;
  // RFC 6455 9.1 requires the unescaped value to be a token, so a quoted form would not help.
  throw new TypeError(`Extension parameter "${name}" has a value that is not a token: ${JSON.stringify(value)}`);
}

/** Render one extension element: `name; a; b=1`. */
export function renderExtension(name: string, params: ExtensionParams = {}): string {
  if (!isToken(name)) throw new TypeError(`Invalid extension name ${JSON.stringify(name)}`);
  let out = name;
  for (const key of Object.keys(params)) {
    if (!isToken(key)) throw new TypeError(`Invalid extension parameter name ${JSON.stringify(key)}`);
    const value = params[key];
    if (value === true) out += `; ${key}`;
    else if (typeof value === "string") out += `; ${key}=${renderValue(key, value)}`;
    else throw new TypeError(`Extension parameter "${key}" must be a string or true`);
  }
  return out;
}

/** Render a whole header value: elements joined with ", ". */
export function renderExtensions(elements: ReadonlyArray<{ name: string; params?: ExtensionParams }>): string {
  return elements.map((e) => renderExtension(e.name, e.params)).join(", ");
}
