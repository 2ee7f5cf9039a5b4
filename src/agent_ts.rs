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
  /** Most bytes of one answer's body (JSON or the whole SSE stream) read per attempt
   *  (default 4194304 = 4 MiB; 1024..=1073741824, else `invalid_input`). Past it the
   *  request is cancelled and `ask` answers on the device with `fallback.code`
   *  `"response_too_large"` (never retried). */
  maxResponseBytes?: number;
}

/** A chat-completion request in the OpenAI format, as an in-page engine receives it: exactly
 *  the JSON body an endpoint would get (privacy policy applied, redacted). */
export interface ChatCompletionRequest {
  /** Left out unless `InPageLlmSettings.model` is set. */
  model?: string;
  messages: { role: "system" | "user" | "assistant" | "tool"; content: string;
              tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
              tool_call_id?: string }[];
  tools?: { type: "function"; function: { name: string; description: string; parameters: object } }[];
  tool_choice?: "auto" | "required" | "none";
  /** JSON planning (`toolMode: "json"`): the answer must follow this schema. */
  response_format?: { type: "json_schema"; json_schema: { name: string; schema: object; strict: boolean } };
  max_tokens?: number;
  temperature?: number;
  seed?: number;
  /** Set when the settings stream (the default): answer with an async iterable of chunks. */
  stream?: true;
  stream_options?: { include_usage: boolean };
}

/** A chat completion in the OpenAI format (`choices[0].message`, `finish_reason`, `usage`). */
export interface ChatCompletion {
  choices: { message: { role?: string; content: string | null;
                        tool_calls?: { id?: string; type?: "function"; function: { name: string; arguments: string | object } }[] };
             finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number };
  model?: string;
}

/** One streamed chunk in the OpenAI format (`choices[0].delta`). */
export interface ChatCompletionChunk {
  choices: { delta: { role?: string; content?: string | null;
                      tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] };
             finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

/** An in-page chat engine: the shape of WebLLM's `MLCEngine` and of {@link createWllamaEngine}'s
 *  result. `create` answers a {@link ChatCompletionRequest} with a {@link ChatCompletion}, or,
 *  for `stream: true`, with an async iterable of {@link ChatCompletionChunk}s. */
export interface ChatEngine {
  chat: { completions: { create(request: ChatCompletionRequest):
    Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> } };
  /** Stops the generation in progress (called on a timeout or an abort), when the engine has it. */
  interruptGenerate?: () => void;
}

/** An in-page model for the agent: nothing leaves the page, the ledger stays empty; the
 *  privacy policy is looked up by the page's own origin (`location.origin`). */
export interface InPageLlmSettings {
  /** The engine (WebLLM's `MLCEngine`, {@link createWllamaEngine}, or any object of that shape). */
  engine: ChatEngine;
  /** `model` field of each request (default: none, the engine's loaded model). */
  model?: string;
  /** `"json"` (default here: plan with a JSON schema, which in-page engines enforce with a
   *  grammar and small models need) or `"native"` tool calls. */
  toolMode?: "native" | "json";
  /** Ask for an async iterable of chunks (default true); tokens reach `onToken` as they come. */
  stream?: boolean;
  /** Per-request timeout in ms (default 60000); then `interruptGenerate()` and a `timeout` fallback. */
  timeoutMs?: number;
}

/** What may be sent to an endpoint, from least to most. */
export type ShareLevel = "nothing" | "request_text" | "public_items" | "preference_summary" | "full_memory";

/** The app's privacy policy. Default: `{ share: "public_items" }` — the request text and
 *  public item text, never memory or the profile. Redaction (e-mail, phone, card, …)
 *  applies at every level. */
export interface PrivacyPolicy {
  /** Level for endpoints not listed in `endpoints` (default `"public_items"`). */
  share?: ShareLevel;
  /** Level per origin (`"https://api.example.com"`; an in-page engine is looked up by the
   *  page's own origin, `location.origin`). A key is normalised to its origin (case, default
   *  port, path and trailing slash dropped); a key that is not an http(s) origin, or has user
   *  info, makes `setPolicy` throw `invalid_policy`. */
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
  /** `understand`: the request read into an {@link Intent} (tool `device`, or
   *  `model+device` after the model's proposal was merged; `arguments` is the intent). */
  kind: "understand" | "model" | "tool" | "approval" | "fallback" | "final";
  thought?: string;
  tool?: string;
  arguments?: unknown;
  status: "ok" | "rejected" | "failed";
  reason?: string;
  resultSummary?: string;
  startedMs: number;
  durationMs: number;
  /** `"in-page"` on the model steps of an in-page engine (nothing left the page). */
  engine?: "in-page";
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
  /** At autonomy ≥ 1, first ask the model for an intent proposal (one JSON-schema call),
   *  merged with the device's reading under checks (default false: the device's intent
   *  binds every path either way; the proposal costs one more model call). */
  extractIntent?: boolean;
}

/** How a constraint of an {@link Intent} was found. */
export type IntentSource = "word" | "similar" | "model";

/** A numeric range (inclusive) on one attribute. */
export interface IntentRange { attribute: string; min?: number; max?: number; phrase: string; source: IntentSource }

/** One category value required or excluded. */
export interface IntentCategory { attribute: string; value: string; phrase: string; source: IntentSource }

/** A catalog item the request names: liked ones seed the ranking; all are left out. */
export interface IntentItem {
  id: string;
  title: string;
  kind: "liked" | "seen" | "refused" | "franchise";
  phrase: string;
}

/** What a request was read as, over the catalog's own attributes; every field but
 *  `text` is a hard constraint on every ranking of the ask. */
export interface Intent {
  /** The free text that was embedded (may be empty). */
  text: string;
  ranges: IntentRange[];
  required: IntentCategory[];
  anyOf: { attribute: string; values: string[]; phrase: string; source: IntentSource }[];
  excluded: IntentCategory[];
  items: IntentItem[];
  /** For people: "Thriller · after 1995 · not Horror". */
  summary: string;
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
   *  `llm_error`, `timeout`, `circuit_open`, `aborted`, `network_error`, `response_too_large`,
   *  `policy`, `no_endpoint`. */
  fallback?: { code: string; reason: string };
  autonomy: number;
  /** What the request was read as (see the `understand` trace step). */
  intent?: Intent;
  /** Why the text is the device's rather than the model's (a tool call, JSON, a bare tool
   *  name, or titles not in the list), when it is. */
  answerReplaced?: string;
}

/** One HTTP attempt that left the page (retries are separate entries; an in-page engine
 *  makes none). */
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
