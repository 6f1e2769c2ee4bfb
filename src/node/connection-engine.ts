/**
 * How a connection's engine is made: at once, or later when it can wait (a plain server
 * connection starts OPEN with nothing to say; see Connection). What the connection keeps
 * meanwhile is a {@link PendingEngine}, which also carries the connection's options: one object
 * shared by the plain connections of an options object, engine factory and subprotocol. A plain
 * connection keeps it: once its engine is at rest after a heartbeat (WebSocketEngine.atRest) the
 * engine is dropped and made again from it when needed. Other connections keep, once their engine
 * is made, {@link madeEngine}'s object: their options only, one per options object.
 */
import type { ExtensionSession } from "../protocol/extensions/extension.js";
import type { EngineFactory, EngineHost, Role, WebSocketEngine } from "../protocol/types.js";
import type { ConnectionInit } from "./connection-types.js";
import { messagePool } from "./lent-messages.js";
import { decodeAscii, decodeUtf8, isUtf8, masker } from "./native.js";
import type { ResolvedConnectionOptions } from "./options.js";
import { outputArena, slabAlloc } from "./output-buffers.js";

/** What a connection keeps to create its engine later, when the engine can wait. */
export interface PendingEngine {
  readonly createEngine: ConnectionInit["createEngine"];
  readonly engine?: ConnectionInit["engine"];
  readonly extensions: ConnectionInit["extensions"];
  /** The negotiated subprotocol ("" if none) and Sec-WebSocket-Extensions response. */
  readonly protocol: string;
  readonly extensionsHeader: string;
  /** The connection's options (a server's or client's: shared by its connections). */
  readonly options: ResolvedConnectionOptions;
}

const NO_EXTENSIONS: readonly ExtensionSession[] = Object.freeze([]);
/** Subprotocols shared per engine factory, at most (beyond, each connection has its own PendingEngine). */
const MAX_SHARED = 32;
/** The PendingEngine of the connections without extensions or engine options, per options, engine factory and subprotocol. */
const plainEngines = new WeakMap<ResolvedConnectionOptions, Map<EngineFactory, Map<string, PendingEngine>>>();

/** What `init` says about creating the engine: one shared object for the plain connections. */
export function pendingEngine(init: ConnectionInit): PendingEngine {
  const { createEngine, engine, extensions, protocol, extensionsHeader, options } = init;
  if (engine !== undefined || extensions.length > 0 || extensionsHeader !== "") {
    return { createEngine, engine, extensions, protocol, extensionsHeader, options };
  }
  let byFactory = plainEngines.get(options);
  if (byFactory === undefined) plainEngines.set(options, (byFactory = new Map()));
  let byProtocol = byFactory.get(createEngine);
  if (byProtocol === undefined) byFactory.set(createEngine, (byProtocol = new Map()));
  let shared = byProtocol.get(protocol);
  if (shared === undefined) {
    shared = { createEngine, extensions: NO_EXTENSIONS, protocol, extensionsHeader: "", options };
    // A server's subprotocols are few; a `protocols` function echoing what peers offer is not.
    if (byProtocol.size < MAX_SHARED) byProtocol.set(protocol, shared);
  }
  return shared;
}

/** What a connection whose engine is made for good keeps (see the module comment), per options object. */
const madeEngines = new WeakMap<ResolvedConnectionOptions, PendingEngine>();

/** The options-only object of a connection whose engine is made and never dropped (its `createEngine` throws). */
export function madeEngine(options: ResolvedConnectionOptions): PendingEngine {
  let made = madeEngines.get(options);
  if (made === undefined) {
    const createEngine: EngineFactory = () => {
      throw new Error("the engine is made already");
    };
    made = { createEngine, extensions: NO_EXTENSIONS, protocol: "", extensionsHeader: "", options };
    madeEngines.set(options, made);
  }
  return made;
}

/**
 * The engine of `host`, with the Node layer's buffers, masking and UTF-8 functions. `directText`:
 * text messages go to the host's `dispatchText` as strings (a host that never wants their bytes),
 * unless the connection has a rate limit: the engine decodes a direct text before its host sees
 * it, and a message the limit refuses must not be decoded (nor fail 1011 when its decode throws,
 * rather than 1008), so such a connection takes `text` events, whose string is decoded on first
 * read, after connection-events.ts's check.
 */
export function startEngine(host: EngineHost, init: PendingEngine, role: Role, directText = false): WebSocketEngine {
  const options = init.options;
  return init.createEngine(host, {
    ...init.engine,
    role,
    maxPayload: options.maxPayload,
    maxFragments: options.maxFragments,
    extensions: init.extensions,
    extensionsHeader: init.extensionsHeader,
    protocol: init.protocol,
    alloc: slabAlloc,
    messageBuffers: options.lendMessages ? messagePool : undefined,
    arena: outputArena,
    masker,
    isUtf8,
    decodeUtf8,
    decodeAscii,
    directText: directText && options.rateLimit === undefined,
  });
}

/**
 * `bytes[0..length)`, lent for the call, to `engine` (read-path.ts's shared read buffer): its
 * `receiveLent` (which answers how many of them began a large payload read in place next), or a
 * copy to `receiveData` for an engine without it (0: none; 0 too for one that answers nothing).
 */
export function receiveLent(engine: WebSocketEngine, bytes: Uint8Array, length: number): number {
  if (engine.receiveLent !== undefined) return engine.receiveLent(bytes, length) ?? 0;
  engine.receiveData(Uint8Array.prototype.slice.call(bytes, 0, length));
  return 0;
}
