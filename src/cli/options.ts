/**
 * Option parsers shared by the CLI commands: each throws commander's InvalidArgumentError with
 * a clear message, so a bad value exits non-zero before anything starts.
 */
export { parseName, parsePort, parseWsUrl } from "./echo.js";
