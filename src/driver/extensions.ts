/**
 * websocket-extensions' protocol (what `driver.addExtension(ext)` takes, e.g.
 * permessage-deflate from the `permessage-deflate` package) adapted to wirecable's extension
 * API: negotiation by websocket-extensions' rules (registration order, one extension per RSV
 * bit, unknown or refused answers fail the client handshake), and each session's callback
 * style `processIncomingMessage(message, cb)` turned into the engine's promise style.
 */
import type {
  ExtensionMessage,
  ExtensionOffer,
  ExtensionParams,
  ExtensionSession,
} from "../protocol/extensions/extension.js";
import { parseExtensions, renderExtension } from "../protocol/extensions/extension-header.js";

export type Params = Record<string, string | number | boolean | Array<string | number | boolean>>;
export interface WsExtMessage {
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  data: Buffer;
}
export type Callback = (error: Error | null, message: WsExtMessage) => void;

export interface WebSocketExtensionSession {
  generateOffer?(): Params | Params[];
  activate?(params: Params): boolean;
  generateResponse?(): Params;
  processIncomingMessage(message: WsExtMessage, callback: Callback): void;
  processOutgoingMessage(message: WsExtMessage, callback: Callback): void;
  close?(callback?: () => void): void;
}

export interface WebSocketExtension {
  name: string;
  type: string;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  createClientSession?(): WebSocketExtensionSession | null;
  createServerSession?(offers: Params[]): WebSocketExtensionSession | null;
}

function toParams(params: ExtensionParams): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(params)) {
    out[key] = value === true ? true : /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

function fromParams(params: Params | undefined): ExtensionParams {
  const out: Record<string, string | true> = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === false) continue;
      out[key] = v === true ? true : String(v);
    }
  }
  return out;
}

function wrap(extension: WebSocketExtension, session: WebSocketExtensionSession): ExtensionSession {
  const run =
    (method: "processIncomingMessage" | "processOutgoingMessage") =>
    (message: ExtensionMessage): Promise<ExtensionMessage> =>
      new Promise((resolve, reject) => {
        const input: WsExtMessage = {
          rsv1: message.rsv1,
          rsv2: message.rsv2,
          rsv3: message.rsv3,
          opcode: message.opcode,
          data: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength),
        };
        session[method](input, (error, out) => {
          if (error) reject(error);
          else resolve({ opcode: message.opcode, rsv1: out.rsv1, rsv2: out.rsv2, rsv3: out.rsv3, data: out.data });
        });
      });
  return {
    name: extension.name,
    rsv1: extension.rsv1 === true,
    rsv2: extension.rsv2 === true,
    rsv3: extension.rsv3 === true,
    processIncoming: run("processIncomingMessage"),
    processOutgoing: run("processOutgoingMessage"),
    close: () => session.close?.(),
  };
}

/** The extensions registered on one driver. */
export class Extensions {
  readonly #extensions: WebSocketExtension[] = [];
  readonly #offered = new Map<string, { extension: WebSocketExtension; session: WebSocketExtensionSession }>();

  add(extension: WebSocketExtension): void {
    if (typeof extension.name !== "string") throw new TypeError("extension.name must be a string");
    if (extension.type !== "permessage") throw new TypeError('extension.type must be "permessage"');
    if (this.#extensions.some((e) => e.name === extension.name)) {
      throw new TypeError(`An extension with name "${extension.name}" is already registered`);
    }
    this.#extensions.push(extension);
  }

  /** Server: the response header and sessions for the client's offer. */
  generateResponse(header: string | undefined): { header: string; sessions: ExtensionSession[] } {
    if (header === undefined || header === "") return { header: "", sessions: [] };
    const offers = parseExtensions(header);
    if (offers === null) throw new Error(`Invalid Sec-WebSocket-Extensions header: ${header}`);
    const rendered: string[] = [];
    const sessions: ExtensionSession[] = [];
    const used = { rsv1: false, rsv2: false, rsv3: false };
    for (const extension of this.#extensions) {
      const mine = offers.filter((o: ExtensionOffer) => o.name === extension.name);
      if (mine.length === 0) continue;
      if ((extension.rsv1 && used.rsv1) || (extension.rsv2 && used.rsv2) || (extension.rsv3 && used.rsv3)) continue;
      const session = extension.createServerSession?.(mine.map((o) => toParams(o.params)));
      if (!session) continue;
      used.rsv1 ||= extension.rsv1 === true;
      used.rsv2 ||= extension.rsv2 === true;
      used.rsv3 ||= extension.rsv3 === true;
      rendered.push(renderExtension(extension.name, fromParams(session.generateResponse?.())));
      sessions.push(wrap(extension, session));
    }
    return { header: rendered.join(", "), sessions };
  }

  /** Client: the offer header (every registered extension's offers, in order). */
  generateOffer(): string {
    const rendered: string[] = [];
    for (const extension of this.#extensions) {
      const session = extension.createClientSession?.();
      if (!session) continue;
      this.#offered.set(extension.name, { extension, session });
      const offer = session.generateOffer?.() ?? {};
      for (const params of Array.isArray(offer) ? offer : [offer]) {
        rendered.push(renderExtension(extension.name, fromParams(params)));
      }
    }
    return rendered.join(", ");
  }

  /** Client: check the server's answer and activate the sessions it accepted. */
  activate(header: string | undefined): ExtensionSession[] {
    if (header === undefined || header === "") return [];
    const answers = parseExtensions(header);
    if (answers === null) throw new Error(`Invalid Sec-WebSocket-Extensions header: ${header}`);
    const sessions: ExtensionSession[] = [];
    for (const answer of answers) {
      const offered = this.#offered.get(answer.name);
      if (offered === undefined) {
        throw new Error(`Server sent an extension response for unknown extension "${answer.name}"`);
      }
      if (offered.session.activate?.(toParams(answer.params)) === false) {
        throw new Error(`Server sent unacceptable extension parameters: ${header}`);
      }
      sessions.push(wrap(offered.extension, offered.session));
    }
    return sessions;
  }
}
