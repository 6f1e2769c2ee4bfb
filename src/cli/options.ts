/**
 * Option parsers and option groups shared by the CLI commands: each parser throws commander's
 * InvalidArgumentError with a clear message, so a bad value exits non-zero before anything starts.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { brokerKind } from "../channels/index.js";

/** Autobahn's largest message: case 9.1.6/9.2.6, 16 MiB in one frame. */
export const AUTOBAHN_MAX_PAYLOAD = 16 * 1024 * 1024;
/**
 * Frames per message for the conformance commands: 65,537, the most the suite sends. Its
 * sendMessage ends a message whose length is a multiple of the fragment size with an empty final
 * frame, so cases 9.3.1/9.4.1 (4 MiB in 64-octet fragments) are 65,536 + 1 frames. No more: each
 * frame of a message costs the engine a piece to keep until the message is whole.
 */
export const AUTOBAHN_MAX_FRAGMENTS = 65_537;

const LIMITS_HELP = `
Limits (0 disables one): --max-payload takes bytes, or a number with K/KiB or M/MiB
(e.g. 64KiB, 16MiB); --max-fragments is the number of frames one message may span.`;

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  }
  return port;
}

/** `--broker`: memory, redis://, redis+cluster://, nats:// or postgres:// (see createBroker). */
export function parseBrokerUrl(value: string): string {
  try {
    brokerKind(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

export function parseHost(value: string): string {
  if (value.trim() === "" || /[\s/]/.test(value))
    throw new InvalidArgumentError(`expected a host name or address, got "${value}"`);
  return value;
}

/**
 * `-p, --port` and `-H, --host` for the servers, from the environment as Node hosting does
 * (`PORT`, `HOST`) when not given on the command line. `port`: the default port, or "required".
 */
export function addListenOptions(command: Command, port: number | "required", host = "127.0.0.1"): Command {
  const portOption = new Option("-p, --port <port>", "port to listen on (0: any free port)")
    .env("PORT")
    .argParser(parsePort);
  if (port === "required") portOption.makeOptionMandatory();
  else portOption.default(port);
  return command
    .addOption(portOption)
    .addOption(
      new Option("-H, --host <host>", "address to bind (0.0.0.0 or :: to serve other machines)")
        .env("HOST")
        .argParser(parseHost)
        .default(host),
    );
}

/** `--legacy-drafts`: also accept hixie-75/76 clients (pre-RFC 6455 browsers), as ServerOptions.legacyDrafts. */
export function addLegacyDraftsOption(command: Command): Command {
  return command.option("--legacy-drafts", "also accept hixie-75/76 clients (pre-RFC 6455 drafts)", false);
}

export function parseWsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a ws:// or wss:// URL, got "${value}"`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new InvalidArgumentError(`expected a ws:// or wss:// URL, got "${value}"`);
  }
  return url.href.replace(/\/$/, "");
}

export function parseName(value: string): string {
  if (!/^[\w.-]{1,64}$/.test(value))
    throw new InvalidArgumentError(`expected a name of letters, digits, ".", "-", "_"`);
  return value;
}

const MAX_BYTE_SIZE = 2 ** 40;

/** Bytes: `1048576`, `64KiB`, `64K`, `16MiB`, `16M` (binary units); 0 disables the limit. */
export function parseByteSize(value: string): number {
  const m = /^(\d+)\s*(|k|kib|m|mib)$/i.exec(value.trim());
  const n = m
    ? Number(m[1]) *
      ({ "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2 } as Record<string, number>)[m[2]!.toLowerCase()]!
    : NaN;
  if (!Number.isSafeInteger(n) || n > MAX_BYTE_SIZE) {
    throw new InvalidArgumentError(
      `expected a size in bytes such as 1048576, 64KiB or 16MiB (0: no limit), got "${value}"`,
    );
  }
  return n;
}

/** A fragment count: a non-negative integer (0 disables the limit). */
export function parseFragmentCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a number of fragments (0: no limit), got "${value}"`);
  }
  return n;
}

/** Adds `--max-payload` and `--max-fragments` (Autobahn's limits by default) and their help text. */
export function addLimitOptions(command: Command): Command {
  return command
    .option(
      "--max-payload <bytes>",
      "largest message accepted (Autobahn's: 16 MiB)",
      parseByteSize,
      AUTOBAHN_MAX_PAYLOAD,
    )
    .option(
      "--max-fragments <n>",
      "most frames in one message (Autobahn sends up to 65537; library default 4096)",
      parseFragmentCount,
      AUTOBAHN_MAX_FRAGMENTS,
    )
    .addHelpText("after", LIMITS_HELP);
}

/** `--redis <url>` (serve, broadcast): a redis:// or rediss:// URL. */
export function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got "${value}"`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got "${value}"`);
  }
  return value;
}
