//! The TypeScript types of the agent API on `Recommender` (`src/agent.rs`):
//! settings, policy, app tools, ask options and results, the ledger. Part of
//! the generated `.d.ts`, reviewed like code.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_AGENT: &'static str = r#"
/** Where the agent's LLM lives (an OpenAI-compatible endpoint: OpenAI, llama.cpp's
 *  `llama-server`, Ollama, vLLM). */
export interface LlmSettings {
  /** Base URL; requests go to `{endpoint}/v1/chat/completions`. */
  endpoint: string;
  /** Model name sent to the endpoint (default `"default"`). */
  model?: string;
  /** Sent as `Authorization: Bearer <apiKey>`; shown as `Bearer ***` in the ledger. */
  apiKey?: string;
  /** `"native"` tool calls (default) or `"json"`: plan with a JSON schema
   *  (`response_format`), for endpoints without tool calling. */
  toolMode?: "native" | "json";
  /** Stream tokens (server-sent events; default true). */
  stream?: boolean;
  /** Per-request timeout in ms (default 15000). */
  timeoutMs?: number;
  /** Retries on 408/409/429/5xx and connection errors (default 2). */
  maxRetries?: number;
}

/** What may be sent to an endpoint, from least to most. */
export type ShareLevel = "nothing" | "request_text" | "public_items" | "preference_summary" | "full_memory";

/** The app's privacy policy. Default: `{ share: "public_items" }` — the request text and
 *  public item text, never memory or the profile. Redaction (e-mail, phone, card, …)
 *  applies at every level. */
export interface PrivacyPolicy {
  /** Level for endpoints not listed in `endpoints` (default `"public_items"`). */
  share?: ShareLevel;
  /** Level per origin (`"https://api.example.com"`). */
  endpoints?: Record<string, ShareLevel>;
  /** Send nothing to origins not listed in `endpoints` (default false). */
  onlyListedEndpoints?: boolean;
}

/** A tool the app adds to the agent. */
export interface AppTool {
  /** `[a-zA-Z0-9_-]{1,64}`, not a built-in tool's name. */
  name: string;
  description: string;
  /** JSON schema of the arguments (an object schema); calls are validated against it. */
  parameters: object;
  /** Tools with side effects are offered only at autonomy 3, and each call needs `approve`. */
  sideEffects?: boolean;
  /** What its results reveal (default `"public_items"`): they are sent to the model only
   *  where the policy allows that level. */
  resultClass?: ShareLevel;
  /** Runs the tool; its result (JSON-serializable) is shown to the model as untrusted data. */
  run: (args: any) => unknown | Promise<unknown>;
}

/** A side-effecting call waiting for the app's approval. */
export interface ApprovalRequest {
  callId: string;
  tool: string;
  arguments: unknown;
  description: string;
}

/** One step of the agent's trace. */
export interface TraceStep {
  index: number;
  kind: "model" | "tool" | "approval" | "fallback" | "final";
  thought?: string;
  tool?: string;
  arguments?: unknown;
  status: "ok" | "rejected" | "failed";
  reason?: string;
  resultSummary?: string;
  startedMs: number;
  durationMs: number;
}

/** Options of {@link Recommender.ask}; every field is optional. */
export interface AskOptions {
  /** 0: on-device ranking only, no LLM; 1: the LLM rephrases and explains the device's list;
   *  2 (default with an LLM): the LLM plans over read-only tools; 3: also side-effecting
   *  tools, each approved by `approve`. Without `setLlm` the level is 0. */
  autonomy?: 0 | 1 | 2 | 3;
  /** Called with every trace step as it happens. */
  onStep?: (step: TraceStep) => void;
  /** Called with streamed model text as it arrives. */
  onToken?: (text: string) => void;
  /** Aborts the LLM requests in flight; `ask` then answers on the device. */
  signal?: AbortSignal;
  /** Approves a side-effecting call (autonomy 3); without it every such call is refused. */
  approve?: (request: ApprovalRequest) => boolean | Promise<boolean>;
  /** How many items (default 10). */
  k?: number;
  /** Budgets; when one is hit the on-device answer is returned with a `fallback`. */
  budgets?: { maxSteps?: number; maxToolCalls?: number; maxTokens?: number; maxWallMs?: number };
}

/** One item of an answer. */
export interface AnswerItem {
  id: string;
  title: string;
  score?: number;
  reason?: string;
}

/** What {@link Recommender.ask} resolves to. */
export interface AskResult {
  answer: string;
  items: AnswerItem[];
  trace: TraceStep[];
  /** A clarifying question (`ask_user`); the next `ask` answers it. */
  question?: string;
  /** Set when the on-device answer was used: `code` is e.g. `budget_steps`, `budget_time`,
   *  `llm_error`, `timeout`, `circuit_open`, `aborted`, `network_error`, `policy`, `no_endpoint`. */
  fallback?: { code: string; reason: string };
  autonomy: number;
}

/** One HTTP attempt that left the page (retries are separate entries). */
export interface LedgerEntry {
  seq: number;
  timeMs: number;
  method: string;
  url: string;
  origin: string;
  attempt: number;
  status: number | null;
  error: string | null;
  durationMs: number;
  /** As sent, with credentials masked. */
  headers: [string, string][];
  /** The exact bytes sent (UTF-8). */
  body: string;
  bytes: number;
}
"#;
