/**
 * `TokenyardClient`: the official openai SDK pointed at a Tokenyard gateway, with a local fallback.
 * Each call goes to the gateway, retried with exponential backoff on connection errors, timeouts and
 * 5xx; when the tries run out it goes to the fallback (Ollama's /v1 by default) with the model name
 * mapped, and the client stays there for the cooldown before probing the gateway's /healthz again.
 */
import OpenAI from "openai";
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from "openai/resources/embeddings";
import { type ResolvedConfig, type TokenyardClientOptions } from "./config.js";
import { type Mode } from "./failover.js";
import { type FallbackUsage } from "./ledger.js";
import { ChunkStream } from "./streams.js";
export interface Status {
    /** The gateway's /healthz answered 200 just now. */
    gateway: boolean;
    /** "up", "down", or "disabled" (no fallback configured). */
    fallback: "up" | "down" | "disabled";
    /** Where the next call goes (after the cooldown, a probe decides). */
    mode: Mode;
    fallbackUsage: FallbackUsage;
}
export declare class TokenyardClient {
    #private;
    readonly config: ResolvedConfig;
    /** The two underlying SDK clients, for anything this client does not wrap. */
    readonly gateway: OpenAI;
    readonly fallback: OpenAI | null;
    readonly chat: {
        completions: Completions;
    };
    readonly embeddings: Embeddings;
    constructor(options: TokenyardClientOptions);
    getStatus(): Promise<Status>;
    fallbackUsage(): FallbackUsage;
    private gatewayHealthy;
    private fallbackHealthy;
    private withRetries;
}
declare class Completions {
    private readonly c;
    constructor(c: TokenyardClient);
    /** As `openai.chat.completions.create`; a stream resolves to a `ChunkStream`. */
    create(body: ChatCompletionCreateParamsNonStreaming): Promise<ChatCompletion>;
    create(body: ChatCompletionCreateParamsStreaming): Promise<ChunkStream>;
    private gatewayStream;
    private fallbackUnary;
    private fallbackStream;
}
declare class Embeddings {
    private readonly c;
    constructor(c: TokenyardClient);
    create(body: EmbeddingCreateParams): Promise<CreateEmbeddingResponse>;
}
export {};
