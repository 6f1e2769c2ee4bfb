/**
 * Browser signals for the reconnecting client: `online` on `window` (retry at once instead of
 * waiting out a long backoff) and `visibilitychange` on `document` (a tab coming back from the
 * background may hold a socket that died while timers were throttled). Guarded with `typeof`
 * so the module loads in Node, workers and SSR; returns null where there is no such signal.
 */
import type { EnvironmentSource } from "./types.js";

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export function browserEnvironment(): EnvironmentSource | null {
  const g = globalThis as { window?: EventTargetLike; document?: EventTargetLike & { visibilityState?: string } };
  const win = typeof window !== "undefined" ? g.window : undefined;
  const doc = typeof document !== "undefined" ? g.document : undefined;
  if (!win && !doc) return null;
  return {
    onOnline(listener) {
      if (!win) return () => {};
      win.addEventListener("online", listener);
      return () => win.removeEventListener("online", listener);
    },
    onVisible(listener) {
      if (!doc) return () => {};
      const handler = () => {
        if (doc.visibilityState === "visible") listener();
      };
      doc.addEventListener("visibilitychange", handler);
      return () => doc.removeEventListener("visibilitychange", handler);
    },
  };
}
