//! The banks' side for the connector tests, all on loopback ports, stopped when dropped:
//!
//! - [`SshServer`] — Debian's OpenSSH `sshd` with a throw-away host key and user key, serving
//!   SFTP (`internal-sftp`) from a temporary directory;
//! - [`Proxy`] — a TCP relay in front of it that can cut a connection after so many bytes, stall
//!   (accept and never answer) or refuse, and counts connections;
//! - [`HttpBank`] — an HTTP server of daily statements that can answer 500s, hang, or check the
//!   API key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A port no other server of the test process (an emulator included) was given.
fn free_port() -> u16 {
    settlepaisa_cli::local::moto::free_port().unwrap()
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "settlepaisa-test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs (openssh-client)");
    assert!(status.success());
}

pub struct SshServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// `ssh-ed25519 AAAA…`: what a connector pins.
    pub host_key: String,
    /// The user's private key (OpenSSH format): what the connector's secret holds.
    pub user_key: String,
    pub user: String,
}

impl SshServer {
    /// Starts `sshd` (scripts/setup installs it) and waits until it accepts connections.
    pub fn start() -> SshServer {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all(d.join("outbox")).unwrap();
        std::fs::create_dir_all(d.join("inbox")).unwrap();
        // Privilege separation wants this directory when sshd starts as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/sbin/sshd runs (scripts/setup installs openssh-server)");
        let ready = (0..200).any(|_| {
            let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if !up {
                std::thread::sleep(Duration::from_millis(50));
            }
            up
        });
        assert!(ready, "sshd did not start: {}", std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default());
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let host_key = host_key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let user_key = std::fs::read_to_string(d.join("user_key")).unwrap();
        let user =
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_string();
        SshServer { child, port, dir, host_key, user_key, user }
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the proxy does with the next connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pass,
    /// The next connection is cut after this many bytes towards the client; later ones pass.
    CutOnceAfter(u64),
    /// Accept and never answer.
    Stall,
    /// Close at once.
    Refuse,
}

pub struct Proxy {
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(Mode::Pass));
        let connections = Arc::new(AtomicU64::new(0));
        let (m, c) = (mode.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let now = {
                    let mut guard = m.lock().unwrap();
                    let now = *guard;
                    if let Mode::CutOnceAfter(_) = now {
                        *guard = Mode::Pass;
                    }
                    now
                };
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    match now {
                        Mode::Refuse => drop(client),
                        Mode::Stall => {
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            drop(client);
                        }
                        Mode::Pass | Mode::CutOnceAfter(_) => {
                            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                                return;
                            };
                            let limit = match now {
                                Mode::CutOnceAfter(n) => n,
                                _ => u64::MAX,
                            };
                            let (mut cr, mut cw) = client.split();
                            let (mut sr, mut sw) = {
                                let s = server;
                                s.into_split()
                            };
                            let up = tokio::io::copy(&mut cr, &mut sw);
                            let down = async {
                                let mut sent = 0u64;
                                let mut buf = vec![0u8; 16 * 1024];
                                loop {
                                    let n = match sr.read(&mut buf).await {
                                        Ok(0) | Err(_) => return,
                                        Ok(n) => n,
                                    };
                                    let allowed = (limit - sent).min(n as u64) as usize;
                                    if cw.write_all(&buf[..allowed]).await.is_err() {
                                        return;
                                    }
                                    sent += allowed as u64;
                                    if sent >= limit {
                                        return;
                                    }
                                }
                            };
                            tokio::select! {
                                _ = up => {}
                                _ = down => {}
                            }
                        }
                    }
                });
            }
        });
        Proxy { port, mode, connections, task }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the HTTP bank answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMode {
    Ok,
    /// The next this many requests get 500.
    Fail(u32),
    /// Never answer (the client's timeout ends it).
    Hang,
}

/// Statements by name: body and ETag.
type Files = std::collections::BTreeMap<String, (Vec<u8>, String)>;

#[derive(Clone)]
struct BankState {
    files: Arc<Mutex<Files>>,
    mode: Arc<Mutex<HttpMode>>,
    api_key: String,
    requests: Arc<AtomicU64>,
}

pub struct HttpBank {
    pub port: u16,
    state: BankState,
    task: tokio::task::JoinHandle<()>,
}

impl HttpBank {
    /// Serves `GET /v1/statements/{name}` with the files put, requiring `x-api-key: api_key`.
    pub async fn start(api_key: &str) -> HttpBank {
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::IntoResponse;
        let state = BankState {
            files: Default::default(),
            mode: Arc::new(Mutex::new(HttpMode::Ok)),
            api_key: api_key.to_string(),
            requests: Default::default(),
        };
        async fn statement(
            State(s): State<BankState>,
            UrlPath(name): UrlPath<String>,
            headers: HeaderMap,
        ) -> axum::response::Response {
            s.requests.fetch_add(1, Ordering::SeqCst);
            if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(s.api_key.as_str()) {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            let mode = {
                let mut m = s.mode.lock().unwrap();
                let now = *m;
                if let HttpMode::Fail(n) = now {
                    *m = if n > 1 { HttpMode::Fail(n - 1) } else { HttpMode::Ok };
                }
                now
            };
            match mode {
                HttpMode::Fail(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                HttpMode::Hang => {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
                HttpMode::Ok => {}
            }
            match s.files.lock().unwrap().get(&name) {
                Some((body, etag)) => ([("etag", etag.clone())], body.clone()).into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        let app =
            axum::Router::new().route("/v1/statements/{name}", axum::routing::get(statement)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpBank { port, state, task }
    }

    pub fn put(&self, name: &str, body: Vec<u8>, etag: &str) {
        self.state.files.lock().unwrap().insert(name.to_string(), (body, etag.to_string()));
    }

    pub fn set(&self, mode: HttpMode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HttpBank {
    fn drop(&mut self) {
        self.task.abort();
    }
}
