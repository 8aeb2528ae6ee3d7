/** Local record of the calls the fallback served, so an app can report (or bill) them later. */
export interface ModelUsage {
    calls: number;
    promptTokens: number;
    completionTokens: number;
}
export interface FallbackUsage extends ModelUsage {
    totalTokens: number;
    /** Local model name -> its calls and tokens. */
    byModel: Record<string, ModelUsage>;
}
interface UsageLike {
    prompt_tokens?: number | null;
    completion_tokens?: number | null;
}
export declare class FallbackLedger {
    #private;
    /** `usage`: the answer's usage (undefined when the server reported none: counted, with 0 tokens). */
    record(model: string, usage: UsageLike | null | undefined): void;
    snapshot(): FallbackUsage;
}
export {};
