/**
 * Which HTTP proxy a client connection goes through: an explicit proxy URL, or with
 * `proxy: true` the conventional environment variables (HTTPS_PROXY for wss, HTTP_PROXY for ws,
 * lowercase variants too) unless NO_PROXY matches the host ("*", a host, a ".suffix" or
 * "*.suffix", optionally with ":port"). Unix sockets never use a proxy.
 */
/** The proxy to use for `target`, honouring NO_PROXY for `proxy: true`. */
export function proxyFor(
  target: { secure: boolean; host: string; port: number; socketPath?: string },
  option: string | true | undefined,
  env = process.env,
): URL | undefined {
  if (option === undefined || target.socketPath !== undefined) return undefined;
  if (option !== true) return new URL(option);
  const raw = target.secure
    ? (env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy)
    : (env.HTTP_PROXY ?? env.http_proxy);
  if (!raw) return undefined;
  const noProxy = env.NO_PROXY ?? env.no_proxy ?? "";
  for (let entry of noProxy.split(/[,\s]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return undefined;
    let port: number | undefined;
    const colon = entry.lastIndexOf(":");
    if (colon > 0 && !entry.endsWith("]")) {
      port = Number(entry.slice(colon + 1));
      entry = entry.slice(0, colon);
    }
    if (port !== undefined && port !== target.port) continue;
    const host = target.host.toLowerCase();
    const bare = entry.startsWith("*.") ? entry.slice(1) : entry;
    if (host === bare.replace(/^\./, "") || host.endsWith(bare.startsWith(".") ? bare : `.${bare}`)) return undefined;
  }
  return new URL(raw.includes("://") ? raw : `http://${raw}`);
}
