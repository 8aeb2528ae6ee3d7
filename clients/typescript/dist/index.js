/**
 * Tokenyard's TypeScript client: the official openai SDK with retries and a local fallback.
 *
 *     import { TokenyardClient } from "@tokenyard/client";
 *     const client = new TokenyardClient({ baseURL: "http://127.0.0.1:8080/v1", apiKey });
 *     await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
 *     await client.getStatus(); // { gateway: true, fallback: "up", mode: "gateway", fallbackUsage: {...} }
 */
export { TokenyardClient } from "./client.js";
export { OLLAMA_V1 } from "./config.js";
export { FallbackFailedError } from "./errors.js";
export { Failover } from "./failover.js";
export { ChunkStream } from "./streams.js";
