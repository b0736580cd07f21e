//! [`Redis`]: a private `redis-server` for session-store tests, plain or over TLS.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::free_port;

/// A private Redis server on a free loopback port, without persistence, killed on drop.
/// Needs Debian's `redis-server` (`scripts/test.sh` installs it).
#[derive(Debug)]
pub struct Redis {
    /// `redis://127.0.0.1:<port>`, or `rediss://…` over TLS.
    pub url: String,
    /// Over TLS: the PEM file of the server's self-signed certificate, the one root a client
    /// must trust (e.g. through `SSL_CERT_FILE`). Removed on drop.
    pub certificate: Option<PathBuf>,
    /// With persistence: the folder of its append-only file. Removed on drop.
    data_dir: Option<PathBuf>,
    port: u16,
    child: Child,
}

impl Redis {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Redis {
        let port = free_port();
        let args = [
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        Self::spawn(port, &args, None).await
    }

    /// Starts a server that writes every change to its append-only file before answering
    /// (`appendonly yes`, `appendfsync always`), so that [`crash_and_restart`](Self::crash_and_restart)
    /// loses nothing.
    pub async fn start_persistent() -> Redis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "logto-test-redis-aof-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the Redis data folder");
        let mut redis = Self::spawn(port, &Self::persistent_args(port, &dir), None).await;
        redis.data_dir = Some(dir);
        redis
    }

    fn persistent_args(port: u16, dir: &std::path::Path) -> Vec<String> {
        [
            "--port",
            &port.to_string(),
            "--dir",
            dir.to_str().expect("a UTF-8 temporary path"),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Kills the server (`SIGKILL`: a crash, no chance to save) and starts it again on the same
    /// port with the same data; returns once it accepts connections again.
    pub async fn crash_and_restart(&mut self) {
        let dir = self
            .data_dir
            .clone()
            .expect("crash_and_restart needs Redis::start_persistent");
        self.child.kill().await.expect("kill redis-server");
        let mut restarted =
            Self::spawn(self.port, &Self::persistent_args(self.port, &dir), None).await;
        // The dead server's handle goes with `restarted`, which owns no files.
        std::mem::swap(&mut self.child, &mut restarted.child);
    }

    /// Runs `redis-cli` against the server (plain servers only); its output.
    pub async fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .await
            .expect("run redis-cli");
        assert!(output.status.success(), "redis-cli {args:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Forgets the command counts of [`command_calls`](Self::command_calls).
    pub async fn reset_stats(&self) {
        self.cli(&["CONFIG", "RESETSTAT"]).await;
    }

    /// How many times the server ran `commands` (lower case, e.g. `get`) since the last
    /// [`reset_stats`](Self::reset_stats). Commands a script runs count too.
    pub async fn command_calls(&self, commands: &[&str]) -> usize {
        let info = self.cli(&["INFO", "commandstats"]).await;
        commands
            .iter()
            .map(|command| {
                info.lines()
                    .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
                    .and_then(|rest| rest.split(',').next()?.parse::<usize>().ok())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// The values of the keys matching `pattern` (e.g. `app:session:*`).
    pub async fn values(&self, pattern: &str) -> Vec<String> {
        let entries = self.entries(pattern).await;
        entries.into_iter().map(|(_, value)| value).collect()
    }

    /// The keys matching `pattern` and their values (without the final newline).
    pub async fn entries(&self, pattern: &str) -> Vec<(String, String)> {
        let keys = self.cli(&["--scan", "--pattern", pattern]).await;
        let mut entries = Vec::new();
        for key in keys.lines().filter(|k| !k.is_empty()) {
            let value = self.cli(&["GET", key]).await;
            entries.push((key.to_owned(), value.trim_end_matches('\n').to_owned()));
        }
        entries
    }

    /// How many commands that write (`SET`, `DEL`, the `EXPIRE`s) the server ran since the last
    /// [`reset_stats`](Self::reset_stats).
    pub async fn write_calls(&self) -> usize {
        let writes = ["set", "del", "expire", "pexpire", "expireat", "pexpireat"];
        self.command_calls(&writes).await
    }

    /// The seconds key `key` has left to live (negative: no such key, or no expiry).
    pub async fn ttl(&self, key: &str) -> i64 {
        let ttl = self.cli(&["TTL", key]).await;
        ttl.trim().parse().expect("TTL answers a number")
    }

    /// Everything the server wrote to disk (its append-only files), as text.
    pub fn persisted(&self) -> String {
        fn read_all(dir: &std::path::Path, out: &mut Vec<u8>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    read_all(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.extend(bytes);
                }
            }
        }
        let mut bytes = Vec::new();
        if let Some(dir) = &self.data_dir {
            read_all(dir, &mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Starts a server that only speaks TLS (`rediss://127.0.0.1:<port>`), with a fresh
    /// self-signed certificate for `127.0.0.1` and no client certificates required.
    pub async fn start_tls() -> Redis {
        let port = free_port();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .expect("generate a self-signed certificate");
        let dir = std::env::temp_dir().join(format!(
            "logto-test-redis-tls-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the certificate folder");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
        let (cert_arg, key_arg) = (
            cert.to_str().unwrap().to_owned(),
            key.to_str().unwrap().to_owned(),
        );
        let args = [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &cert_arg,
            "--tls-key-file",
            &key_arg,
            "--tls-ca-cert-file",
            &cert_arg,
            "--tls-auth-clients",
            "no",
            "--appendonly",
            "no",
        ];
        Self::spawn(port, &args, Some(cert)).await
    }

    async fn spawn(
        port: u16,
        args: &[impl AsRef<std::ffi::OsStr>],
        certificate: Option<PathBuf>,
    ) -> Redis {
        let mut child = Command::new("redis-server")
            .args(args)
            .args(["--bind", "127.0.0.1", "--save", ""])
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
        let scheme = if certificate.is_some() {
            "rediss"
        } else {
            "redis"
        };
        Redis {
            url: format!("{scheme}://127.0.0.1:{port}"),
            certificate,
            data_dir: None,
            port,
            child,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(dir) = self.certificate.as_ref().and_then(|cert| cert.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The signed-in sessions among [`Redis::entries`]: those naming a token record (the session
/// value `logto.tokens_ref` of logto-axum and logto-actix).
pub fn signed_in_sessions(entries: &[(String, String)]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter(|(_, value)| value.contains("logto.tokens_ref"))
        .cloned()
        .collect()
}
