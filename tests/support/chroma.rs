//! A real Chroma server for the candidate-engine tests: the PyPI package
//! chromadb's Rust server, installed by `scripts/setup.sh` (`ensure_chroma`)
//! into `$RECAGENT_CHROMA_PATH` (default `$RECAGENT_CACHE/tools/chroma`,
//! `~/.cache/recagent/tools/chroma`), started by `scripts/chroma_server.py`
//! on a free loopback port with its data in a temporary folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where setup installed chromadb.
pub fn chroma_path() -> PathBuf {
    if let Some(p) = std::env::var_os("RECAGENT_CHROMA_PATH") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("RECAGENT_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/recagent"));
    cache.join("tools/chroma")
}

/// A running server, killed when dropped.
pub struct Chroma {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn heartbeat(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /api/v2/heartbeat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

impl Chroma {
    /// Starts a server with its data in `dir` (kept between restarts).
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    fn start_on(dir: &Path, port: u16) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = root.join("scripts/chroma_server.py");
        let path = chroma_path();
        assert!(
            path.join("chromadb_rust_bindings").exists(),
            "chromadb is not installed in {} (scripts/setup.sh installs it: ensure_chroma)",
            path.display()
        );
        let log = std::fs::File::create(dir.with_extension("log")).unwrap();
        let child = Command::new("python3")
            .arg(&script)
            .args(["--path", &dir.display().to_string(), "--port", &port.to_string()])
            .env("PYTHONPATH", &path)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start scripts/chroma_server.py");
        let mut server = Chroma { child, url: format!("http://127.0.0.1:{port}"), port, dir: dir.to_path_buf() };
        let started = Instant::now();
        while !heartbeat(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("Chroma exited ({status}); see {}", dir.with_extension("log").display());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "Chroma did not answer within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    /// The address of `collection` on this server.
    pub fn address(&self, collection: &str) -> String {
        format!("chroma+{}/{collection}", self.url)
    }

    /// Kills the server (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let started = Instant::now();
        while heartbeat(self.port) && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again on the same port over the same data.
    pub fn restart(&mut self) {
        self.kill();
        let again = Chroma::start_on(&self.dir.clone(), self.port);
        *self = again;
    }
}

impl Drop for Chroma {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
