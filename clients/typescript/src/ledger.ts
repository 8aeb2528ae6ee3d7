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

export class FallbackLedger {
  #byModel = new Map<string, ModelUsage>();

  /** `usage`: the answer's usage (undefined when the server reported none: counted, with 0 tokens). */
  record(model: string, usage: UsageLike | null | undefined): void {
    const row = this.#byModel.get(model) ?? { calls: 0, promptTokens: 0, completionTokens: 0 };
    row.calls += 1;
    row.promptTokens += usage?.prompt_tokens ?? 0;
    row.completionTokens += usage?.completion_tokens ?? 0;
    this.#byModel.set(model, row);
  }

  snapshot(): FallbackUsage {
    const byModel: Record<string, ModelUsage> = {};
    let calls = 0, promptTokens = 0, completionTokens = 0;
    for (const [model, row] of this.#byModel) {
      byModel[model] = { ...row };
      calls += row.calls;
      promptTokens += row.promptTokens;
      completionTokens += row.completionTokens;
    }
    return { calls, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, byModel };
  }
}
