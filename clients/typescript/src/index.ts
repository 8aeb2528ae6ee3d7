/**
 * Tokenyard's TypeScript client: the official openai SDK with retries and a local fallback.
 *
 *     import { TokenyardClient } from "@tokenyard/client";
 *     const client = new TokenyardClient({ baseURL: "http://127.0.0.1:8080/v1", apiKey });
 *     await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
 *     await client.getStatus(); // { gateway: true, fallback: "up", mode: "gateway", fallbackUsage: {...} }
 */
export { TokenyardClient, type Status } from "./client.js";
export { OLLAMA_V1, type TokenyardClientOptions } from "./config.js";
export { FallbackFailedError } from "./errors.js";
export { Failover, type Mode, type Route } from "./failover.js";
export type { FallbackUsage, ModelUsage } from "./ledger.js";
export { ChunkStream, type Served } from "./streams.js";
