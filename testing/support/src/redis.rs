//! [`Redis`]: a private `redis-server` for session-store tests.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::free_port;

/// A private Redis server on a free loopback port, without persistence, killed on drop.
/// Needs Debian's `redis-server` (`scripts/test.sh` installs it).
#[derive(Debug)]
pub struct Redis {
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
}

impl Redis {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Redis {
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it with `apt-get install -y \
                     redis-server` (scripts/test.sh does)"
                )
            });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(ready, Ok(true)),
            "redis-server on port {port} did not get ready"
        );
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Redis {
            url: format!("redis://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
