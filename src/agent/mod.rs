//! The agent: a planner that turns a request into steps over tools, calls a
//! remote LLM only when the app's policy allows it, and always has an
//! on-device answer to fall back on.

pub mod llm;
