/**
 * Where the next call goes: the gateway, the fallback, or a health probe first. No I/O, so the rules
 * can be tested with a fake clock. Mode `gateway` until a call exhausts its tries, then `fallback` for
 * the cooldown; after it one caller probes /healthz while the others stay on the fallback, so a dead
 * gateway sees one probe per cooldown, not one per call.
 */

export type Route = "gateway" | "probe" | "fallback";
export type Mode = "gateway" | "fallback";

export class Failover {
  #fallbackUntil: number | null = null;

  constructor(private readonly cooldownMs: number, private readonly now: () => number) {}

  get mode(): Mode {
    return this.#fallbackUntil === null ? "gateway" : "fallback";
  }

  route(): Route {
    if (this.#fallbackUntil === null) return "gateway";
    if (this.now() < this.#fallbackUntil) return "fallback";
    this.#fallbackUntil = this.now() + this.cooldownMs;
    return "probe";
  }

  gatewayUp(): void {
    this.#fallbackUntil = null;
  }

  gatewayDown(): void {
    this.#fallbackUntil = this.now() + this.cooldownMs;
  }
}
