/**
 * Where the next call goes: the gateway, the fallback, or a health probe first. No I/O, so the rules
 * can be tested with a fake clock. Mode `gateway` until a call exhausts its tries, then `fallback` for
 * the cooldown; after it one caller probes /healthz while the others stay on the fallback, so a dead
 * gateway sees one probe per cooldown, not one per call.
 */
export class Failover {
    cooldownMs;
    now;
    #fallbackUntil = null;
    constructor(cooldownMs, now) {
        this.cooldownMs = cooldownMs;
        this.now = now;
    }
    get mode() {
        return this.#fallbackUntil === null ? "gateway" : "fallback";
    }
    route() {
        if (this.#fallbackUntil === null)
            return "gateway";
        if (this.now() < this.#fallbackUntil)
            return "fallback";
        this.#fallbackUntil = this.now() + this.cooldownMs;
        return "probe";
    }
    gatewayUp() {
        this.#fallbackUntil = null;
    }
    gatewayDown() {
        this.#fallbackUntil = this.now() + this.cooldownMs;
    }
}
