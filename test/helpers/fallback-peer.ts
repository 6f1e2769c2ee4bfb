/**
 * A raw peer of the HTTP fallback transport (src/protocol/fallback/wire.ts) for tests: opens a
 * session with node:http (so a test controls every header, and can stop reading the event
 * stream), reads its events, POSTs frame bytes at chosen offsets, resumes the stream. The frames
 * come from test/helpers/frames.ts (written from RFC 6455, not from wirecable's encoder).
 */
import { type Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { type SseEvent, SseParser } from "../../src/protocol/fallback/sse.js";
import {
  ACK_PARAM,
  FALLBACK_PARAM,
  fallbackUrl,
  OFFSET_PARAM,
  type OpenInfo,
  PROTOCOLS_PARAM,
  parseOpenInfo,
  SESSION_PARAM,
  TOKEN_HEADER,
} from "../../src/protocol/fallback/wire.js";
import { cframe, closeBody, OP } from "./frames.js";
import { UNIT, until } from "./time.js";

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface PostOptions {
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** A fresh TCP connection (default: node's global agent, kept alive). */
  agent?: Agent | false;
}

/** POST `url` and read the whole answer. */
export function post(url: string, options: PostOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: options.headers, agent: options.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** An event stream being read (the open response, or a resumed one). */
export class EventStream {
  readonly res: IncomingMessage;
  readonly events: SseEvent[] = [];
  ended = false;
  readonly #parser = new SseParser();

  constructor(res: IncomingMessage) {
    this.res = res;
    res.setEncoding("utf8");
    res.on("data", (text: string) => this.events.push(...this.#parser.push(text)));
    res.on("end", () => (this.ended = true));
    res.on("close", () => (this.ended = true));
    res.on("error", () => (this.ended = true));
  }

  /** Wait for the `n`th event (1-based) and return it. */
  async nth(n: number, ms = 50 * UNIT): Promise<SseEvent> {
    await until(() => this.events.length >= n, `event ${n}`, ms);
    return this.events[n - 1]!;
  }

  /** Wait for an event matching `test` from index `from` on. */
  async find(test: (e: SseEvent) => boolean, from = 0, ms = 50 * UNIT): Promise<SseEvent> {
    await until(() => this.events.slice(from).some(test), "a matching event", ms);
    return this.events.slice(from).find(test)!;
  }

  async waitEnd(ms = 50 * UNIT): Promise<void> {
    await until(() => this.ended, "the end of the stream", ms);
  }
}

export interface OpenOptions {
  protocols?: string[];
  headers?: Record<string, string>;
  agent?: Agent | false;
}

/** Open a stream at `url` (a fallback URL): the response, whatever its status. */
export function openStream(url: string, options: OpenOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: "POST",
      headers: { accept: "text/event-stream", ...options.headers },
      agent: options.agent ?? false,
    });
    req.on("response", resolve);
    req.on("error", reject);
    req.end();
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

export class FallbackPeer {
  readonly url: string;
  readonly info: OpenInfo;
  stream: EventStream;
  /** Upstream bytes sent (the next POST's offset). */
  offset = 0;

  private constructor(url: string, info: OpenInfo, stream: EventStream) {
    this.url = url;
    this.info = info;
    this.stream = stream;
  }

  /**
   * Open a session on the WebSocket URL `wsUrl`: resolves once the open event arrived, rejects
   * with the answer (`HttpAnswer`) when the server refused.
   */
  static async open(wsUrl: string, options: OpenOptions = {}): Promise<FallbackPeer> {
    const params: Record<string, string> = { [FALLBACK_PARAM]: "open" };
    if (options.protocols !== undefined) params[PROTOCOLS_PARAM] = options.protocols.join(",");
    const res = await openStream(fallbackUrl(wsUrl, params), options);
    if (res.statusCode !== 200) {
      const answer: HttpAnswer = { status: res.statusCode ?? 0, headers: res.headers, body: await readAll(res) };
      throw Object.assign(new Error(`open refused: ${answer.status} ${answer.body}`), { answer });
    }
    const stream = new EventStream(res);
    const first = await stream.nth(1);
    const info = first.type === "open" ? parseOpenInfo(first.data) : null;
    if (info === null) throw new Error(`first event is not an open event: ${JSON.stringify(first)}`);
    stream.events.shift();
    return new FallbackPeer(wsUrl, info, stream);
  }

  /** The URL of an operation on this session. */
  opUrl(op: string, params: Record<string, string | number> = {}): string {
    return fallbackUrl(this.url, { [FALLBACK_PARAM]: op, [SESSION_PARAM]: this.info.session, ...params });
  }

  /** POST raw upstream bytes at `offset` (default: the current one, which then advances on 204). */
  async sendBytes(
    bytes: Uint8Array,
    options: { offset?: number; token?: string; ack?: number; agent?: Agent | false; url?: string } = {},
  ): Promise<HttpAnswer> {
    const offset = options.offset ?? this.offset;
    const params: Record<string, string | number> = { [OFFSET_PARAM]: offset };
    if (options.ack !== undefined) params[ACK_PARAM] = options.ack;
    const target = options.url ?? this.opUrl("send", params);
    const answer = await post(target, {
      headers: { [TOKEN_HEADER]: options.token ?? this.info.token, "content-type": "application/octet-stream" },
      body: bytes,
      agent: options.agent,
    });
    if (answer.status === 204 && options.offset === undefined) this.offset += bytes.length;
    return answer;
  }

  /** Send one masked frame. */
  sendFrame(opcode: number, payload?: Uint8Array | string, options?: { agent?: Agent | false }): Promise<HttpAnswer> {
    return this.sendBytes(cframe(opcode, payload), options);
  }

  sendText(text: string): Promise<HttpAnswer> {
    return this.sendFrame(OP.TEXT, text);
  }

  sendClose(code = 1000, reason = ""): Promise<HttpAnswer> {
    return this.sendFrame(OP.CLOSE, closeBody(code, reason));
  }

  /** Texts of the default ("message") events received so far. */
  get texts(): string[] {
    return this.stream.events.filter((e) => e.type === "message").map((e) => e.data);
  }

  /** Resume the stream from event `from` (default: every event received so far). */
  async resume(from = this.stream.events.length, token = this.info.token): Promise<IncomingMessage> {
    return openStream(this.opUrl("resume", { [OFFSET_PARAM]: from }), { headers: { [TOKEN_HEADER]: token } });
  }

  /** Cut the event stream (as a proxy would). */
  cut(): void {
    this.stream.res.destroy();
  }
}
