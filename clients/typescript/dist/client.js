/**
 * `TokenyardClient`: the official openai SDK pointed at a Tokenyard gateway, with a local fallback.
 * Each call goes to the gateway, retried with exponential backoff on connection errors, timeouts and
 * 5xx; when the tries run out it goes to the fallback (Ollama's /v1 by default) with the model name
 * mapped, and the client stays there for the cooldown before probing the gateway's /healthz again.
 */
import OpenAI from "openai";
import { backoffDelays, healthURL, localModel, resolveConfig } from "./config.js";
import { FallbackFailedError, isGatewayFailure, isStreamFailureBeforeFirstToken } from "./errors.js";
import { Failover } from "./failover.js";
import { FallbackLedger } from "./ledger.js";
import { ChunkStream, readToFirstToken } from "./streams.js";
class Exhausted {
    error;
    constructor(error) {
        this.error = error;
    }
}
export class TokenyardClient {
    config;
    /** The two underlying SDK clients, for anything this client does not wrap. */
    gateway;
    fallback;
    chat;
    embeddings;
    #failover;
    #ledger = new FallbackLedger();
    constructor(options) {
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
    async getStatus() {
        const [gateway, fallback] = await Promise.all([
            this.gatewayHealthy(),
            this.fallback === null ? Promise.resolve("disabled")
                : this.fallbackHealthy().then((up) => (up ? "up" : "down")),
        ]);
        return { gateway, fallback, mode: this.#failover.mode, fallbackUsage: this.#ledger.snapshot() };
    }
    fallbackUsage() {
        return this.#ledger.snapshot();
    }
    /** @internal */
    recordFallback(model, usage) {
        this.#ledger.record(model, usage);
    }
    async gatewayHealthy() {
        try {
            const resp = await fetch(healthURL(this.config), { signal: AbortSignal.timeout(this.config.healthTimeoutMs) });
            await resp.body?.cancel();
            return resp.ok;
        }
        catch {
            return false;
        }
    }
    async fallbackHealthy() {
        try {
            await this.fallback.models.list({ timeout: this.config.healthTimeoutMs });
            return true;
        }
        catch {
            return false;
        }
    }
    /** @internal The routing rules, shared by every wrapped call. */
    async route(gateway, fallback, retryable) {
        if (this.fallback === null) {
            const result = await this.withRetries(gateway, retryable);
            if (result instanceof Exhausted)
                throw result.error;
            return result;
        }
        let route = this.#failover.route();
        if (route === "probe")
            route = (await this.gatewayHealthy()) ? "gateway" : "fallback";
        if (route === "gateway") {
            const result = await this.withRetries(gateway, retryable);
            if (!(result instanceof Exhausted)) {
                this.#failover.gatewayUp();
                return result;
            }
            this.#failover.gatewayDown();
            try {
                return await fallback();
            }
            catch (err) {
                throw new FallbackFailedError(result.error, err);
            }
        }
        let unreachable;
        try {
            return await fallback();
        }
        catch (err) {
            if (!isGatewayFailure(err))
                throw new FallbackFailedError(null, err);
            unreachable = err;
        }
        // The fallback is unreachable too: the gateway may be back before the cooldown says so.
        let result;
        try {
            result = await this.withRetries(gateway, retryable);
        }
        catch (err) {
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
    async withRetries(call, retryable) {
        const delays = backoffDelays(this.config);
        let last;
        for (let attempt = 0; attempt < this.config.attempts; attempt++) {
            try {
                return await call();
            }
            catch (err) {
                if (!retryable(err))
                    throw err; // a 4xx: the gateway is up and said no; never a reason to go around it
                last = err;
            }
            if (attempt < delays.length)
                await this.config.sleep(delays[attempt]);
        }
        return new Exhausted(last);
    }
}
class Completions {
    c;
    constructor(c) {
        this.c = c;
    }
    create(body) {
        const c = this.c;
        if (!body.stream) {
            const unary = body;
            return c.route(() => c.gateway.chat.completions.create(unary), () => this.fallbackUnary(unary), isGatewayFailure);
        }
        const streaming = body;
        return c.route(() => this.gatewayStream(streaming), () => this.fallbackStream(streaming), isStreamFailureBeforeFirstToken);
    }
    async gatewayStream(body) {
        const stream = await this.c.gateway.chat.completions.create(body);
        const it = stream[Symbol.asyncIterator]();
        const abort = () => stream.controller.abort();
        return new ChunkStream(it, await readToFirstToken(it, abort), "gateway", abort);
    }
    async fallbackUnary(body) {
        const local = { ...body, model: localModel(this.c.config, body.model) };
        const answer = await this.c.fallback.chat.completions.create(local);
        this.c.recordFallback(local.model, answer.usage);
        return answer;
    }
    async fallbackStream(body) {
        // Ask for usage (for the ledger) unless the caller chose stream_options; then hide that chunk.
        const hide = body.stream_options === undefined;
        const local = {
            ...body, model: localModel(this.c.config, body.model),
            ...(hide ? { stream_options: { include_usage: true } } : {}),
        };
        const stream = await this.c.fallback.chat.completions.create(local);
        const it = stream[Symbol.asyncIterator]();
        return new ChunkStream(it, { chunks: [], done: false }, "fallback", () => stream.controller.abort(), (usage) => this.c.recordFallback(local.model, usage), hide);
    }
}
class Embeddings {
    c;
    constructor(c) {
        this.c = c;
    }
    create(body) {
        const c = this.c;
        return c.route(() => c.gateway.embeddings.create(body), async () => {
            const local = { ...body, model: localModel(c.config, body.model) };
            const answer = await c.fallback.embeddings.create(local);
            c.recordFallback(local.model, answer.usage);
            return answer;
        }, isGatewayFailure);
    }
}
