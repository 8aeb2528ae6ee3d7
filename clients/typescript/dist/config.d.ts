/** The client's settings, checked once when it is built; the same defaults as the Python client. */
export declare const OLLAMA_V1 = "http://127.0.0.1:11434/v1";
export interface TokenyardClientOptions {
    /** The gateway's OpenAI base URL, e.g. `http://127.0.0.1:8080/v1`. */
    baseURL: string;
    apiKey: string;
    /** The local OpenAI-compatible server used while the gateway is down; `null`: no fallback. */
    fallbackBaseURL?: string | null;
    /** Ollama ignores the key, but the SDK insists on one. */
    fallbackApiKey?: string;
    /** Gateway model name -> local model name; `"*"` names the default. Unmapped names are sent unchanged. */
    fallbackModelMap?: Record<string, string>;
    /** Tries at the gateway per call before falling back (connection errors, timeouts, 5xx only). Default 3. */
    attempts?: number;
    /** Milliseconds before the second try, doubled before each later one (default 250, at most 4000). */
    backoffMs?: number;
    /** Milliseconds on the fallback after a failure before the gateway's /healthz is probed again (30000). */
    cooldownMs?: number;
    /** Per-attempt timeout in milliseconds (default 60000). */
    timeoutMs?: number;
    healthTimeoutMs?: number;
    /** Injected in tests so the cooldown can pass without waiting. */
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
}
export interface ResolvedConfig {
    baseURL: string;
    apiKey: string;
    fallbackBaseURL: string | null;
    fallbackApiKey: string;
    fallbackModelMap: Record<string, string>;
    attempts: number;
    backoffMs: number;
    backoffMaxMs: number;
    cooldownMs: number;
    timeoutMs: number;
    healthTimeoutMs: number;
    now: () => number;
    sleep: (ms: number) => Promise<void>;
}
export declare function resolveConfig(o: TokenyardClientOptions): ResolvedConfig;
/** Sleeps between the gateway tries: 250, 500 ms for three attempts by default. */
export declare function backoffDelays(cfg: ResolvedConfig): number[];
/** The gateway's liveness endpoint, beside (not under) the /v1 API. */
export declare function healthURL(cfg: ResolvedConfig): string;
export declare function localModel(cfg: ResolvedConfig, model: string): string;
