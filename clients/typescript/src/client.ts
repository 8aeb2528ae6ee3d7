/**
 * `TokenyardClient`: the official openai SDK pointed at a Tokenyard gateway, with a local fallback.
 * Each call goes to the gateway, retried with exponential backoff on connection errors, timeouts and
 * 5xx; when the tries run out it goes to the fallback (Ollama's /v1 by default) with the model name
 * mapped, and the client stays there for the cooldown before probing the gateway's /healthz again.
 */
import OpenAI from "openai";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from "openai/resources/chat/completions";
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from "openai/resources/embeddings";

import { backoffDelays, healthURL, localModel, resolveConfig, type ResolvedConfig,
  type TokenyardClientOptions } from "./config.js";
import { FallbackFailedError, isGatewayFailure, isStreamFailureBeforeFirstToken } from "./errors.js";
import { Failover, type Mode } from "./failover.js";
import { FallbackLedger, type FallbackUsage } from "./ledger.js";
import { ChunkStream, readToFirstToken } from "./streams.js";

export interface Status {
  /** The gateway's /healthz answered 200 just now. */
  gateway: boolean;
  /** "up", "down", or "disabled" (no fallback configured). */
  fallback: "up" | "down" | "disabled";
  /** Where the next call goes (after the cooldown, a probe decides). */
  mode: Mode;
  fallbackUsage: FallbackUsage;
}

type Retryable = (err: unknown) => boolean;
type Call<T> = () => Promise<T>;

class Exhausted {
  constructor(readonly error: unknown) {}
}

export class TokenyardClient {
  readonly config: ResolvedConfig;
  /** The two underlying SDK clients, for anything this client does not wrap. */
  readonly gateway: OpenAI;
  readonly fallback: OpenAI | null;
  readonly chat: { completions: Completions };
  readonly embeddings: Embeddings;
  readonly #failover: Failover;
  readonly #ledger = new FallbackLedger();

  constructor(options: TokenyardClientOptions) {
    this.config = resolveConfig(options);
    const cfg = this.config;
    // The SDK's own retries are off: this client retries, and then knows when to give up on the gateway.
    this.gateway = new OpenAI({ baseURL: cfg.baseURL, apiKey: cfg.apiKey, maxRetries: 0, timeout: cfg.timeoutMs });
    this.fallback = cfg.fallbackBaseURL === null ? null
      : new OpenAI({ baseURL: cfg.fallbackBaseURL, apiKey: cfg.fallbackApiKey, maxRetries: 0, timeout: cfg.timeoutMs });
    this.#failover = new Failover(cfg.cooldownMs, cfg.now);
    this.chat = { completions: new Completions(this) };
    this.embeddings = new Embeddings(this);
  }

  async getStatus(): Promise<Status> {
    const [gateway, fallback] = await Promise.all([
      this.gatewayHealthy(),
      this.fallback === null ? Promise.resolve("disabled" as const)
        : this.fallbackHealthy().then((up) => (up ? ("up" as const) : ("down" as const))),
    ]);
    return { gateway, fallback, mode: this.#failover.mode, fallbackUsage: this.#ledger.snapshot() };
  }

  fallbackUsage(): FallbackUsage {
    return this.#ledger.snapshot();
  }

  /** @internal */
  recordFallback(model: string, usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined) {
    this.#ledger.record(model, usage);
  }

  private async gatewayHealthy(): Promise<boolean> {
    try {
      const resp = await fetch(healthURL(this.config), { signal: AbortSignal.timeout(this.config.healthTimeoutMs) });
      await resp.body?.cancel();
      return resp.ok;
    } catch {
      return false;
    }
  }

  private async fallbackHealthy(): Promise<boolean> {
    try {
      await this.fallback!.models.list({ timeout: this.config.healthTimeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /** @internal The routing rules, shared by every wrapped call. */
  async route<T>(gateway: Call<T>, fallback: Call<T>, retryable: Retryable): Promise<T> {
    if (this.fallback === null) {
      const result = await this.withRetries(gateway, retryable);
      if (result instanceof Exhausted) throw result.error;
      return result;
    }
    let route = this.#failover.route();
    if (route === "probe") route = (await this.gatewayHealthy()) ? "gateway" : "fallback";
    if (route === "gateway") {
      const result = await this.withRetries(gateway, retryable);
      if (!(result instanceof Exhausted)) {
        this.#failover.gatewayUp();
        return result;
      }
      this.#failover.gatewayDown();
      try {
        return await fallback();
      } catch (err) {
        throw new FallbackFailedError(result.error, err);
      }
    }
    let unreachable: unknown;
    try {
      return await fallback();
    } catch (err) {
      if (!isGatewayFailure(err)) throw new FallbackFailedError(null, err);
      unreachable = err;
    }
    // The fallback is unreachable too: the gateway may be back before the cooldown says so.
    let result: T | Exhausted;
    try {
      result = await this.withRetries(gateway, retryable);
    } catch (err) {
      this.#failover.gatewayUp(); // a 4xx: refused, but alive
      throw err;
    }
    if (result instanceof Exhausted) {
      this.#failover.gatewayDown();
      throw new FallbackFailedError(result.error, unreachable);
    }
    this.#failover.gatewayUp();
    return result;
  }

  private async withRetries<T>(call: Call<T>, retryable: Retryable): Promise<T | Exhausted> {
    const delays = backoffDelays(this.config);
    let last: unknown;
    for (let attempt = 0; attempt < this.config.attempts; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!retryable(err)) throw err; // a 4xx: the gateway is up and said no; never a reason to go around it
        last = err;
      }
      if (attempt < delays.length) await this.config.sleep(delays[attempt]);
    }
    return new Exhausted(last);
  }
}

class Completions {
  constructor(private readonly c: TokenyardClient) {}

  /** As `openai.chat.completions.create`; a stream resolves to a `ChunkStream`. */
  create(body: ChatCompletionCreateParamsNonStreaming): Promise<ChatCompletion>;
  create(body: ChatCompletionCreateParamsStreaming): Promise<ChunkStream>;
  create(body: ChatCompletionCreateParamsNonStreaming | ChatCompletionCreateParamsStreaming):
    Promise<ChatCompletion | ChunkStream> {
    const c = this.c;
    if (!body.stream) {
      const unary = body as ChatCompletionCreateParamsNonStreaming;
      return c.route(() => c.gateway.chat.completions.create(unary), () => this.fallbackUnary(unary),
        isGatewayFailure);
    }
    const streaming = body as ChatCompletionCreateParamsStreaming;
    return c.route(() => this.gatewayStream(streaming), () => this.fallbackStream(streaming),
      isStreamFailureBeforeFirstToken);
  }

  private async gatewayStream(body: ChatCompletionCreateParamsStreaming): Promise<ChunkStream> {
    const stream = await this.c.gateway.chat.completions.create(body);
    const it = stream[Symbol.asyncIterator]();
    const abort = () => stream.controller.abort();
    return new ChunkStream(it, await readToFirstToken(it, abort), "gateway", abort);
  }

  private async fallbackUnary(body: ChatCompletionCreateParamsNonStreaming): Promise<ChatCompletion> {
    const local = { ...body, model: localModel(this.c.config, body.model) };
    const answer = await this.c.fallback!.chat.completions.create(local);
    this.c.recordFallback(local.model, answer.usage);
    return answer;
  }

  private async fallbackStream(body: ChatCompletionCreateParamsStreaming): Promise<ChunkStream> {
    // Ask for usage (for the ledger) unless the caller chose stream_options; then hide that chunk.
    const hide = body.stream_options === undefined;
    const local: ChatCompletionCreateParamsStreaming = {
      ...body, model: localModel(this.c.config, body.model),
      ...(hide ? { stream_options: { include_usage: true } } : {}),
    };
    const stream = await this.c.fallback!.chat.completions.create(local);
    const it = stream[Symbol.asyncIterator]();
    return new ChunkStream(it, { chunks: [], done: false }, "fallback", () => stream.controller.abort(),
      (usage: ChatCompletionChunk["usage"]) => this.c.recordFallback(local.model, usage), hide);
  }
}

class Embeddings {
  constructor(private readonly c: TokenyardClient) {}

  create(body: EmbeddingCreateParams): Promise<CreateEmbeddingResponse> {
    const c = this.c;
    return c.route(() => c.gateway.embeddings.create(body), async () => {
      const local = { ...body, model: localModel(c.config, body.model) };
      const answer = await c.fallback!.embeddings.create(local);
      c.recordFallback(local.model, answer.usage);
      return answer;
    }, isGatewayFailure);
  }
}
