/**
 * `@cobra-ts/cobra/worker`: Cobra in a Web Worker. Inside the worker, `serveCobraWorker()` answers requests;
 * on the page, `new CobraWorkerClient(worker)` loads a model with per-file progress (keeping its files in the
 * browser's Cache API), encodes an image once, streams answers token by token, stops any request, releases the
 * model, and rethrows the worker's errors as the same typed errors.
 */
export { type CachingFetch, type CachingFetchOptions, createCachingFetch } from "./worker/caching-fetch.js";
export {
  type Answer,
  CobraWorkerClient,
  CobraWorkerError,
  errorFromWorker,
  type Pending,
  type WorkerLike,
} from "./worker/client.js";
export { describeError, isAbortError, isQuotaError } from "./worker/errors.js";
export { formatBytes } from "./worker/format-bytes.js";
export { CobraWorkerHost, type CobraWorkerHostOptions } from "./worker/host.js";
export type {
  AnswerChunk,
  Backend,
  CobraChat,
  CobraLoadOptions,
  CobraSource,
  LoadCobra,
  LoadedCobra,
} from "./worker/loaded-cobra.js";
export {
  type CacheLike,
  cacheKey,
  clearModelCache,
  MODEL_CACHE_NAME,
  openModelCache,
  pruneModelCache,
  urlOfCacheKey,
} from "./worker/model-cache.js";
export { modelBaseUrl } from "./worker/model-url.js";
export { throttleProgress } from "./worker/progress.js";
export * from "./worker/protocol.js";
export { type ServeOptions, serveCobraWorker, type WorkerEndpoint } from "./worker/serve.js";
export {
  estimateStorage,
  quotaMessage,
  type StorageEstimateLike,
  storageShortage,
} from "./worker/storage.js";
