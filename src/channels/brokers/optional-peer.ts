/**
 * Optional peer dependencies (broker clients such as `ioredis`, `pg`, NATS): loaded only when a
 * feature that needs one is constructed, never by importing `wirecable/channels`.
 *
 * Contract:
 * - `loadPeer(peer, feature)` is called in the feature's constructor. When `peer` cannot be
 *   resolved from wirecable's own location it throws {@link MissingPeerError} at once, naming
 *   the package to install; otherwise it returns the module's `import()` promise (which also
 *   rejects with MissingPeerError should the module disappear before it loads). The caller keeps
 *   the promise and awaits it before first use.
 * - `providePeer(peer, load)` is for bundles (the CLI, an application bundled with esbuild): a
 *   bundle carries its own copy of a peer and registers a loader with a literal `import()`, which
 *   the bundler resolves at build time. A provided loader takes precedence and skips the
 *   resolution check.
 * - Modules are typed with `import type` only: wirecable's declaration files never import a peer,
 *   so a project without it compiles with `skipLibCheck: false`.
 */

/** The error thrown when a feature's optional peer dependency is not installed. */
export class MissingPeerError extends Error {
  override readonly name = "MissingPeerError";
  readonly code = "ERR_WIRECABLE_MISSING_PEER";
  /** The npm package to install, e.g. "ioredis". */
  readonly peer: string;
  /** What needs it, e.g. "RedisBroker". */
  readonly feature: string;
  constructor(peer: string, feature: string, options?: { cause?: unknown }) {
    super(`${feature} needs the optional peer dependency "${peer}": npm install ${peer}`, options);
    this.peer = peer;
    this.feature = feature;
  }
}

const provided = new Map<string, () => Promise<unknown>>();

/** Registers a bundle's own copy of `peer` (see the module comment). */
export function providePeer(peer: string, load: () => Promise<unknown>): void {
  provided.set(peer, load);
}

/** The `import()` of `peer`, or MissingPeerError thrown at once when it is not installed. */
export function loadPeer<M>(peer: string, feature: string): Promise<M> {
  const load = provided.get(peer);
  if (load !== undefined) return load() as Promise<M>;
  try {
    import.meta.resolve(peer);
  } catch (error) {
    throw new MissingPeerError(peer, feature, { cause: error });
  }
  return (import(peer) as Promise<M>).catch((error: unknown) => {
    throw isNotFound(error, peer) ? new MissingPeerError(peer, feature, { cause: error }) : error;
  });
}

function isNotFound(error: unknown, peer: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
    error instanceof Error &&
    error.message.includes(`'${peer}'`)
  );
}
