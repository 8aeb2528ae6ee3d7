/** The client's settings, checked once when it is built; the same defaults as the Python client. */
export const OLLAMA_V1 = "http://127.0.0.1:11434/v1";
export function resolveConfig(o) {
    if (!o.baseURL)
        throw new TypeError("baseURL is required (the gateway's /v1 URL)");
    const cfg = {
        baseURL: o.baseURL,
        apiKey: o.apiKey,
        fallbackBaseURL: o.fallbackBaseURL === undefined ? OLLAMA_V1 : o.fallbackBaseURL,
        fallbackApiKey: o.fallbackApiKey ?? "ollama",
        fallbackModelMap: { ...(o.fallbackModelMap ?? {}) },
        attempts: o.attempts ?? 3,
        backoffMs: o.backoffMs ?? 250,
        backoffMaxMs: 4000,
        cooldownMs: o.cooldownMs ?? 30_000,
        timeoutMs: o.timeoutMs ?? 60_000,
        healthTimeoutMs: o.healthTimeoutMs ?? 2000,
        now: o.now ?? (() => performance.now()),
        sleep: o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
    if (!Number.isInteger(cfg.attempts) || cfg.attempts < 1)
        throw new TypeError("attempts must be an integer >= 1");
    if (cfg.backoffMs < 0 || cfg.cooldownMs < 0)
        throw new TypeError("backoffMs and cooldownMs must not be negative");
    return cfg;
}
/** Sleeps between the gateway tries: 250, 500 ms for three attempts by default. */
export function backoffDelays(cfg) {
    return Array.from({ length: cfg.attempts - 1 }, (_, i) => Math.min(cfg.backoffMs * 2 ** i, cfg.backoffMaxMs));
}
/** The gateway's liveness endpoint, beside (not under) the /v1 API. */
export function healthURL(cfg) {
    const root = cfg.baseURL.replace(/\/+$/, "");
    return (root.endsWith("/v1") ? root.slice(0, -3) : root) + "/healthz";
}
export function localModel(cfg, model) {
    return cfg.fallbackModelMap[model] ?? cfg.fallbackModelMap["*"] ?? model;
}
