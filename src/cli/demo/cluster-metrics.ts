/**
 * `/metrics` of `serve --workers N`: one scrape reports the whole server, whichever worker the
 * request reaches. The worker asks the primary over the cluster IPC channel; the primary gathers
 * every worker's registry with prom-client's AggregatorRegistry (counters and gauges summed,
 * default process metrics combined by prom-client's own rules) and sends the text back.
 *
 * Contract: `reportToPrimary(registry)` in each worker (answers prom-client's requests with
 * that registry); `answerMetricsRequests(worker)` in the primary for each worker it forks;
 * `askPrimary()` in a worker resolves to the aggregated text, or rejects after `timeout` ms.
 */
import type { Worker } from "node:cluster";
import { AggregatorRegistry, type PrometheusContentType, type Registry } from "prom-client";
import { sendToWorker } from "../workers.js";

const REQUEST = "wirecable-metrics-request";
const RESPONSE = "wirecable-metrics";

interface Request {
  tag: typeof REQUEST;
  id: number;
}
interface Response {
  tag: typeof RESPONSE;
  id: number;
  body?: string;
  error?: string;
}

/** In a worker: prom-client's aggregation requests are answered with `registry`. */
export function reportToPrimary(registry: Registry): void {
  new AggregatorRegistry(); // installs prom-client's worker-side listener
  AggregatorRegistry.setRegistries([registry]);
}

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;

/** In the primary: answer `worker`'s requests for the aggregated metrics. */
export function answerMetricsRequests(worker: Worker): void {
  worker.on("message", (message: Partial<Request> | null) => {
    if (message?.tag !== REQUEST || typeof message.id !== "number") return;
    const id = message.id;
    aggregator ??= new AggregatorRegistry();
    aggregator.clusterMetrics().then(
      (body) => sendToWorker(worker, { tag: RESPONSE, id, body } satisfies Response),
      (error: Error) => sendToWorker(worker, { tag: RESPONSE, id, error: error.message } satisfies Response),
    );
  });
}

let nextId = 0;
const pending = new Map<number, (response: Response) => void>();

function onResponse(message: Partial<Response> | null): void {
  if (message?.tag !== RESPONSE || typeof message.id !== "number") return;
  pending.get(message.id)?.(message as Response);
}

/** In a worker: the aggregated metrics text from the primary. */
export function askPrimary(timeout = 10_000): Promise<string> {
  if (pending.size === 0) process.on("message", onResponse);
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const done = (response: Response | undefined): void => {
      clearTimeout(timer);
      pending.delete(id);
      if (pending.size === 0) process.off("message", onResponse);
      if (response?.body !== undefined) resolve(response.body);
      else reject(new Error(response?.error ?? `no answer from the primary within ${timeout} ms`));
    };
    const timer = setTimeout(() => done(undefined), timeout);
    pending.set(id, done);
    process.send?.({ tag: REQUEST, id } satisfies Request);
  });
}
