//! The one error type of recagent.
//!
//! Every fallible function returns [`Result<T>`]. Each variant has a stable
//! machine-readable [`Error::code`]; the wasm layer turns an `Error` into a JS
//! `Error` whose `name` is `RecagentError` and whose `code` is that string, so
//! apps can branch on it. Codes never change meaning once released.

use thiserror::Error as ThisError;

/// Result with recagent's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in recagent.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// The model bytes are not a valid ONNX model (truncated, corrupt, or not ONNX at all).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// The model is valid ONNX but does not fit what the encoder needs (wrong inputs, outputs or shapes).
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
    /// The vocabulary text is not a usable BERT `vocab.txt`.
    #[error("invalid vocabulary: {0}")]
    InvalidVocab(String),
    /// The image bytes could not be decoded (corrupt, truncated or an unsupported format).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// The image is larger than the configured decoding limits.
    #[error("image too large: {0}")]
    ImageTooLarge(String),
    /// An argument is out of its documented range (an empty batch, a wrong tensor length, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Inference failed inside the model runtime.
    #[error("inference failed: {0}")]
    Inference(String),
    /// Reading or writing a file or stream failed (native CLI only).
    #[error("i/o error: {0}")]
    Io(String),
    /// A storage backend (`KvStore`) failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The catalog bundle is not usable: wrong magic, unsupported version,
    /// truncated, checksum mismatch or inconsistent sections.
    #[error("invalid catalog: {0}")]
    InvalidCatalog(String),
    /// A profile snapshot is not usable: wrong magic, unsupported version or corrupt.
    #[error("invalid profile: {0}")]
    InvalidProfile(String),
    /// An item id that the loaded catalog does not contain.
    #[error("unknown item: {0}")]
    UnknownItem(String),
    /// The storage quota is exhausted (IndexedDB `QuotaExceededError`); the
    /// write was refused as a whole and earlier data is intact.
    #[error("storage quota exceeded: {0}")]
    QuotaExceeded(String),
    /// The network request did not get an HTTP response: connection refused
    /// or reset, DNS failure, a CORS refusal in the browser, a body cut short.
    #[error("network error: {0}")]
    Network(String),
    /// A request (or a whole `ask`) ran past its time limit and was aborted.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The app cancelled the operation (an `AbortSignal`).
    #[error("aborted: {0}")]
    Aborted(String),
    /// The LLM endpoint answered, but not usefully: an HTTP error status after
    /// the retries, malformed JSON, no choices, an unusable tool call.
    #[error("llm endpoint error: {0}")]
    Llm(String),
    /// The circuit breaker is open after repeated failures of this endpoint;
    /// no request was sent.
    #[error("circuit open: {0}")]
    CircuitOpen(String),
    /// The privacy policy forbids what was asked (e.g. sending to an endpoint
    /// it does not allow); nothing was sent.
    #[error("denied by privacy policy: {0}")]
    PolicyDenied(String),
    /// A Web Worker of recagent's worker mode or encoder pool could not start
    /// (its script failed to load, e.g. a `worker-src` CSP) or died, or was
    /// terminated while a call was pending.
    #[error("worker failed: {0}")]
    Worker(String),
    /// The privacy policy itself is malformed: an endpoint key that is not an
    /// origin (`scheme://host[:port]`), or an unknown level. Nothing is sent
    /// under a policy that could not be read.
    #[error("invalid privacy policy: {0}")]
    InvalidPolicy(String),
    /// A response from the network (a JSON body or an SSE stream) went past
    /// its size cap; the attempt was stopped and is not retried.
    #[error("response too large: {0}")]
    ResponseTooLarge(String),
    /// Input that declares more work or memory than its budget allows (a model
    /// whose shapes ask for far more memory than its file size warrants, a
    /// document with too many records): refused before anything is allocated.
    #[error("resource limit: {0}")]
    ResourceLimit(String),
    /// A candidate engine (a vector database) answered with an error status
    /// or with records that cannot be read (wrong shape, vectors of the wrong
    /// width, non-finite values, unknown attribute types).
    #[error("candidate engine: {0}")]
    Engine(String),
}

impl Error {
    /// Every code [`Error::code`] can return, one per variant, in declaration
    /// order. The JavaScript `RecagentErrorCode` union and the table in
    /// `docs/errors.md` list exactly these (a test of the workspace checks it).
    pub const CODES: &'static [&'static str] = &[
        "invalid_model",
        "unsupported_model",
        "invalid_vocab",
        "invalid_image",
        "image_too_large",
        "invalid_input",
        "inference_failed",
        "io_error",
        "storage_error",
        "invalid_catalog",
        "invalid_profile",
        "unknown_item",
        "quota_exceeded",
        "network_error",
        "timeout",
        "aborted",
        "llm_error",
        "circuit_open",
        "policy_denied",
        "worker_failed",
        "invalid_policy",
        "response_too_large",
        "resource_limit",
        "engine_error",
    ];

    /// Stable, machine-readable code of this error (`snake_case`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidModel(_) => "invalid_model",
            Error::UnsupportedModel(_) => "unsupported_model",
            Error::InvalidVocab(_) => "invalid_vocab",
            Error::InvalidImage(_) => "invalid_image",
            Error::ImageTooLarge(_) => "image_too_large",
            Error::InvalidInput(_) => "invalid_input",
            Error::Inference(_) => "inference_failed",
            Error::Io(_) => "io_error",
            Error::Storage(_) => "storage_error",
            Error::InvalidCatalog(_) => "invalid_catalog",
            Error::InvalidProfile(_) => "invalid_profile",
            Error::UnknownItem(_) => "unknown_item",
            Error::QuotaExceeded(_) => "quota_exceeded",
            Error::Network(_) => "network_error",
            Error::Timeout(_) => "timeout",
            Error::Aborted(_) => "aborted",
            Error::Llm(_) => "llm_error",
            Error::CircuitOpen(_) => "circuit_open",
            Error::PolicyDenied(_) => "policy_denied",
            Error::Worker(_) => "worker_failed",
            Error::InvalidPolicy(_) => "invalid_policy",
            Error::ResponseTooLarge(_) => "response_too_large",
            Error::ResourceLimit(_) => "resource_limit",
            Error::Engine(_) => "engine_error",
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// Formats a tract/anyhow error with its whole chain of causes on one line.
pub(crate) fn chain(e: &tract_onnx::prelude::TractError) -> String {
    format!("{e:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every variant (a new variant must be added here, or the
    /// code tests below miss it).
    fn every_error() -> Vec<Error> {
        vec![
            Error::InvalidModel(String::new()),
            Error::UnsupportedModel(String::new()),
            Error::InvalidVocab(String::new()),
            Error::InvalidImage(String::new()),
            Error::ImageTooLarge(String::new()),
            Error::InvalidInput(String::new()),
            Error::Inference(String::new()),
            Error::Io(String::new()),
            Error::Storage(String::new()),
            Error::InvalidCatalog(String::new()),
            Error::InvalidProfile(String::new()),
            Error::UnknownItem(String::new()),
            Error::QuotaExceeded(String::new()),
            Error::Network(String::new()),
            Error::Timeout(String::new()),
            Error::Aborted(String::new()),
            Error::Llm(String::new()),
            Error::CircuitOpen(String::new()),
            Error::PolicyDenied(String::new()),
            Error::Worker(String::new()),
            Error::InvalidPolicy(String::new()),
            Error::ResponseTooLarge(String::new()),
            Error::ResourceLimit(String::new()),
            Error::Engine(String::new()),
        ]
    }

    #[test]
    fn codes_are_stable_and_distinct() {
        let all = every_error();
        let mut codes: Vec<_> = all.iter().map(Error::code).collect();
        assert_eq!(codes[0], "invalid_model");
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    /// [`Error::CODES`] lists exactly the codes of the variants.
    #[test]
    fn codes_constant_lists_every_variant() {
        let mut codes: Vec<&str> = every_error().iter().map(Error::code).collect();
        codes.sort_unstable();
        let mut listed = Error::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, codes);
    }
}
