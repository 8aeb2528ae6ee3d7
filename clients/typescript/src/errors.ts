/**
 * Which gateway failures are worth a retry and the fallback. Only those that say the gateway itself is
 * unwell: no connection, a timeout, a 5xx. A 4xx (bad request, bad key, rate limit, budget) is the
 * gateway working as meant; retrying it or going around it to a local model would hide a bug or dodge a
 * limit, so it reaches the caller unchanged.
 */
import OpenAI from "openai";

export function isGatewayFailure(err: unknown): boolean {
  if (err instanceof OpenAI.APIConnectionError) return true; // includes APIConnectionTimeoutError
  if (err instanceof OpenAI.APIError) return typeof err.status === "number" && err.status >= 500;
  return false;
}

/**
 * A stream that broke (or carried the gateway's error event) before any token reached the caller is a
 * failed call like a 5xx: nothing was shown, so another route may still answer it. Node's fetch reports
 * a body cut off mid-read as a plain TypeError, which counts too.
 */
export function isStreamFailureBeforeFirstToken(err: unknown): boolean {
  if (err instanceof OpenAI.APIError && typeof err.status === "number") return err.status >= 500;
  return err instanceof Error;
}

/** The fallback could not answer a call the gateway could not (or, in its cooldown, was not asked to). */
export class FallbackFailedError extends OpenAI.OpenAIError {
  constructor(readonly gatewayError: unknown, readonly fallbackError: unknown) {
    const gateway = gatewayError === null ? "the gateway is in its cooldown after a failure"
      : `the gateway failed (${String(gatewayError)})`;
    super(`Tokenyard: ${gateway} and the fallback failed too (${String(fallbackError)})`);
    this.name = "FallbackFailedError";
  }
}
