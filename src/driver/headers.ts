/** websocket-driver's ordered header list: first spelling kept, values set once, CR/LF refused. */
export class Headers {
  readonly #sent = new Set<string>();
  #lines: string[] = [];

  set(name: string, value: unknown): void {
    if (value === undefined) return;
    const cleanName = String(name)
      .replace(/[\r\n]/g, "")
      .trim();
    const cleanValue = String(value)
      .replace(/[\r\n]/g, "")
      .trim();
    const key = cleanName.toLowerCase();
    if (this.#sent.has(key)) return;
    this.#sent.add(key);
    this.#lines.push(`${cleanName}: ${cleanValue}\r\n`);
  }

  toString(): string {
    return this.#lines.join("");
  }
}

/** `Basic` credentials from a URL's user and password, or null. */
export function urlAuthorization(uri: URL | null): string | null {
  if (uri === null || !uri.username || !uri.password) return null;
  const auth = `${decodeURIComponent(uri.username)}:${decodeURIComponent(uri.password)}`;
  return `Basic ${Buffer.from(auth, "utf8").toString("base64")}`;
}
