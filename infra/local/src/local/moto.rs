//! The AWS emulator (moto in server mode) on a free loopback port, stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// Where the project's setup script installs moto: `$SETTLEPAISA_MOTO`, else `.venv/bin/moto_server`
/// under the workspace root.
pub fn moto_binary(workspace: &Path) -> PathBuf {
    std::env::var_os("SETTLEPAISA_MOTO").map(PathBuf::from).unwrap_or_else(|| workspace.join(".venv/bin/moto_server"))
}

impl Moto {
    /// Starts moto on 127.0.0.1 and waits until it answers.
    pub fn start(binary: &Path) -> Result<Moto, String> {
        if !binary.exists() {
            return Err(format!(
                "{} not found: run scripts/setup (it installs moto[server] into .venv)",
                binary.display()
            ));
        }
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto exited at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err("moto did not start within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(moto)
    }
}

/// A free loopback port no other server this process starts (an emulator, a test's sshd) was
/// given. The port is free when the probe releases it, but moto binds it only a second or two
/// later, after its imports: two stacks starting at once (parallel tests) could be given the same
/// port, and the second moto would exit while its stack silently used the first's tables and
/// buckets.
pub fn free_port() -> Result<u16, String> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
    Err("no free loopback port for the emulator".into())
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
