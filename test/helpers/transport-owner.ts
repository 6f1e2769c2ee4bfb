/**
 * An owner for read-path.ts's transports that records what it is given (TransportOwner), and
 * loopback socket pairs: shared by test/node/read-path.test.ts and read-budget.test.ts.
 */
import { once } from "node:events";
import net from "node:net";
import type { TransportOwner } from "../../src/node/read-path.js";

/** An owner that keeps what it is given (lent bytes copied), and may offer one read target. */
export class Recorder implements TransportOwner {
  readonly chunks: Buffer[] = [];
  lentCalls = 0;
  dataCalls = 0;
  ended = false;
  closed = false;
  target: Uint8Array | null = null;
  /** Offered as the target once lent bytes arrived (as the engine offers one after a frame's header). */
  offer: Uint8Array | null = null;
  landed: Uint8Array | null = null;
  /** What transportLent answers: the bytes at the end that began a large payload (as the engine's receiveLent). */
  payload = 0;
  /** Called with each call's bytes (as the engine delivers messages whose handlers send). */
  onBytes: (() => void) | null = null;
  #arrived: (() => void) | null = null;

  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  transportData(chunk: Uint8Array): void {
    this.dataCalls++;
    if (this.target !== null && chunk.buffer === this.target.buffer) {
      this.landed = chunk;
      this.target = null;
    }
    this.chunks.push(Buffer.from(chunk));
    this.onBytes?.();
    this.#arrived?.();
  }
  /** The arrays lent so far (the shared read buffer: one). */
  readonly lentArrays = new Set<Uint8Array>();
  transportLent(bytes: Uint8Array, length: number): number {
    this.lentCalls++;
    this.lentArrays.add(bytes);
    this.chunks.push(Buffer.from(bytes.subarray(0, length))); // a copy: the buffer is reused
    this.target = this.offer;
    this.offer = null;
    this.onBytes?.();
    this.#arrived?.();
    return this.payload;
  }
  readTarget(): Uint8Array | null {
    return this.target;
  }
  transportEnd(): void {
    this.ended = true;
  }
  transportClose(): void {
    this.closed = true;
  }
  transportError(): void {}
  transportDrain(): void {}
  transportFlushed(): void {}
  /** What transportHead answers (true: reading resumes). */
  resumeAfterHead = true;
  transportHead(head: Uint8Array): boolean {
    this.chunks.push(Buffer.from(head));
    return this.resumeAfterHead;
  }

  /** Resolves once `n` bytes in all have arrived. */
  async bytes(n: number): Promise<void> {
    while (Buffer.concat(this.chunks).length < n) await new Promise<void>((resolve) => (this.#arrived = resolve));
    this.#arrived = null;
  }
}

/** A connected loopback pair: the accepted (server) socket, paused, and the client. */
export async function tcpPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer({ pauseOnConnect: true });
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection");
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  const connected = once(client, "connect");
  const [server] = (await accepted) as [net.Socket];
  await connected;
  // As node:http and the raw listener hand an upgraded socket over: not reading, flowing null.
  (server as { readableFlowing: boolean | null }).readableFlowing = null;
  return {
    server,
    client,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

/** A round trip on another socket pair: time for the kernel to deliver what was written. */
export async function roundTrip(): Promise<void> {
  const probe = await tcpPair();
  probe.client.write("x");
  probe.server.resume();
  await once(probe.server, "data");
  probe.close();
}
