//! The bytes of an item's `image` reference at build time: a file path
//! (relative to a base folder, the items file's) or an `http(s)` URL fetched
//! with the CLI's [`NativeHttp`], each within a size cap and (for URLs) a
//! time limit.

use std::io::Read;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use recagent_core::error::{Error, Result};
use recagent_core::platform::{Http, HttpRequest};

use crate::native_http::NativeHttp;

/// Largest image read, file or download (32 MiB).
pub const MAX_IMAGE_BYTES: usize = 32 << 20;
/// Time limit of one image download, redirects each counted apart (30 s).
pub const IMAGE_TIMEOUT_MS: u32 = 30_000;
/// Most redirects followed for one image URL.
pub const MAX_REDIRECTS: usize = 5;

/// Reads images by reference (see the module docs).
#[derive(Debug, Clone)]
pub struct ImageSource {
    base: PathBuf,
    http: NativeHttp,
    /// Time limit of one HTTP request, in milliseconds.
    pub timeout_ms: u32,
    /// Most bytes of one image.
    pub max_bytes: usize,
}

impl ImageSource {
    /// Paths relative to `base`; [`IMAGE_TIMEOUT_MS`] and [`MAX_IMAGE_BYTES`].
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self { base: base.into(), http: NativeHttp::new(), timeout_ms: IMAGE_TIMEOUT_MS, max_bytes: MAX_IMAGE_BYTES }
    }

    /// The bytes `reference` names. A URL (`http://`, `https://`) is
    /// fetched (redirects followed up to [`MAX_REDIRECTS`]): a status other
    /// than 2xx is [`Error::InvalidInput`], a body over `max_bytes`
    /// [`Error::ResponseTooLarge`], no answer [`Error::Network`] or
    /// [`Error::Timeout`]. Another `scheme://` is [`Error::InvalidInput`].
    /// Anything else is a path (relative to the base folder): unreadable is
    /// [`Error::Io`], over `max_bytes` [`Error::ResourceLimit`].
    pub fn load(&self, reference: &str) -> Result<Vec<u8>> {
        let lower = reference.trim().to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return futures::executor::block_on(self.fetch(reference.trim()));
        }
        if let Some((scheme, _)) = lower.split_once("://") {
            if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
                return Err(Error::InvalidInput(format!(
                    "image {reference:?}: only http and https URLs, or file paths, are read"
                )));
            }
        }
        self.read_file(&self.base.join(reference))
    }

    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(io)?;
        let cap = u64::try_from(self.max_bytes).unwrap_or(u64::MAX);
        let mut bytes = Vec::new();
        file.take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() > self.max_bytes {
            return Err(Error::ResourceLimit(format!(
                "{}: an image file larger than {} bytes",
                path.display(),
                self.max_bytes
            )));
        }
        Ok(bytes)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>> {
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let response = self
                .http
                .send_streaming(HttpRequest {
                    method: "GET".into(),
                    url: url.clone(),
                    headers: vec![("accept".into(), "image/*".into())],
                    body: Vec::new(),
                    timeout_ms: self.timeout_ms,
                })
                .await?;
            let header = |name: &str| response.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
            if (300..400).contains(&response.status) {
                if let Some(location) = header("location") {
                    url = resolve(&url, location);
                    continue;
                }
            }
            if !(200..300).contains(&response.status) {
                return Err(Error::InvalidInput(format!("{url}: the server answered HTTP {}", response.status)));
            }
            let too_large = || Error::ResponseTooLarge(format!("{url}: an image larger than {} bytes", self.max_bytes));
            if header("content-length").and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > self.max_bytes as u64) {
                return Err(too_large());
            }
            let mut body = response.body;
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                if bytes.len().saturating_add(chunk.len()) > self.max_bytes {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(bytes);
        }
        Err(Error::InvalidInput(format!("{url}: more than {MAX_REDIRECTS} redirects")))
    }
}

/// `location` (a redirect's target) read against `base`: absolute, `//host…`,
/// `/path…` or relative to `base`'s folder.
fn resolve(base: &str, location: &str) -> String {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(host_path) = location.strip_prefix("//") {
        return format!("{scheme}://{host_path}");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if location.starts_with('/') {
        return format!("{scheme}://{host}{location}");
    }
    let path = rest.get(host.len()..).unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    let folder = path.rfind('/').and_then(|i| path.get(..=i)).unwrap_or("/");
    format!("{scheme}://{host}{folder}{location}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_against_the_url() {
        let base = "https://img.example/a/b/c.png?x=1";
        assert_eq!(resolve(base, "https://cdn.example/x.png"), "https://cdn.example/x.png");
        assert_eq!(resolve(base, "//cdn.example/x.png"), "https://cdn.example/x.png");
        assert_eq!(resolve(base, "/x.png"), "https://img.example/x.png");
        assert_eq!(resolve(base, "d.png"), "https://img.example/a/b/d.png");
        assert_eq!(resolve("http://h:8080", "d.png"), "http://h:8080/d.png");
    }

    #[test]
    fn files_are_read_within_the_cap_and_other_schemes_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), [1u8; 10]).unwrap();
        let mut source = ImageSource::new(dir.path());
        assert_eq!(source.load("a.png").unwrap().len(), 10);
        assert_eq!(source.load("missing.png").unwrap_err().code(), "io_error");
        assert_eq!(source.load("ftp://x/y.png").unwrap_err().code(), "invalid_input");
        source.max_bytes = 9;
        assert_eq!(source.load("a.png").unwrap_err().code(), "resource_limit");
    }
}
