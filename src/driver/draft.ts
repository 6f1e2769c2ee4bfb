/**
 * websocket-driver's Draft75 and Draft76 server drivers over wirecable's hixie drivers
 * (src/protocol/legacy): same API as Hybi, text messages only (binary, ping and pong return
 * false), no close codes on the wire. Bytes parsed before `start()` (draft-76's 8-byte key)
 * wait for the handshake.
 */
import { createHixieDriver } from "../protocol/legacy/index.js";
import { type DriverOptions, type DriverRequest, Hybi } from "./hybi.js";

export class Draft extends Hybi {
  #early: Buffer[] = [];

  constructor(
    request: DriverRequest,
    url: string,
    options: DriverOptions | undefined,
    version: "hixie-75" | "hixie-76",
  ) {
    super(request, url, options);
    this.version = version;
  }

  override start(): boolean {
    if (this.readyState !== 0) return false;
    const request = this._request!;
    const head = Buffer.concat([Buffer.from(request.body ?? []), ...this.#early]);
    this.#early = [];
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    this._call(() => {
      this._engine = createHixieDriver(
        { method: request.method ?? "GET", target: request.url ?? "/", httpVersion: "1.1", headers },
        this._engineHost(),
        {
          maxPayload: this._maxLength,
          head,
          secure: this.url?.startsWith("wss:") === true,
          protocols: this._protocols,
        },
      );
      // The hixie driver hands over what its constructor raised on the next call: now, as
      // websocket-driver's drafts open inside start().
      this._engine?.receiveData(new Uint8Array(0));
    });
    if (this._engine === null) return this._failHandshake(new Error("Not a WebSocket request"));
    return true;
  }

  override parse(chunk: Uint8Array | number[]): void {
    if (this._engine === null) {
      this.#early.push(Buffer.from(chunk as Uint8Array));
      return;
    }
    super.parse(chunk);
  }

  override binary(): boolean {
    return false;
  }

  override ping(): boolean {
    return false;
  }

  override pong(): boolean {
    return false;
  }

  override frame(buffer: unknown, type?: string, code?: number): boolean {
    if (type === "binary" || type === "ping" || type === "pong") return false;
    if (this.readyState > 0 && type !== "close" && typeof buffer !== "string") return false;
    return super.frame(buffer, type, code);
  }
}
