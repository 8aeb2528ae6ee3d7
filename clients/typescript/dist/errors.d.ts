/**
 * Which gateway failures are worth a retry and the fallback. Only those that say the gateway itself is
 * unwell: no connection, a timeout, a 5xx. A 4xx (bad request, bad key, rate limit, budget) is the
 * gateway working as meant; retrying it or going around it to a local model would hide a bug or dodge a
 * limit, so it reaches the caller unchanged.
 */
import OpenAI from "openai";
export declare function isGatewayFailure(err: unknown): boolean;
/**
 * A stream that broke (or carried the gateway's error event) before any token reached the caller is a
 * failed call like a 5xx: nothing was shown, so another route may still answer it. Node's fetch reports
 * a body cut off mid-read as a plain TypeError, which counts too.
 */
export declare function isStreamFailureBeforeFirstToken(err: unknown): boolean;
/** The fallback could not answer a call the gateway could not (or, in its cooldown, was not asked to). */
export declare class FallbackFailedError extends OpenAI.OpenAIError {
    readonly gatewayError: unknown;
    readonly fallbackError: unknown;
    constructor(gatewayError: unknown, fallbackError: unknown);
}
