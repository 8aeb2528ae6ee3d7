/**
 * Where the next call goes: the gateway, the fallback, or a health probe first. No I/O, so the rules
 * can be tested with a fake clock. Mode `gateway` until a call exhausts its tries, then `fallback` for
 * the cooldown; after it one caller probes /healthz while the others stay on the fallback, so a dead
 * gateway sees one probe per cooldown, not one per call.
 */
export type Route = "gateway" | "probe" | "fallback";
export type Mode = "gateway" | "fallback";
export declare class Failover {
    #private;
    private readonly cooldownMs;
    private readonly now;
    constructor(cooldownMs: number, now: () => number);
    get mode(): Mode;
    route(): Route;
    gatewayUp(): void;
    gatewayDown(): void;
}
