//! [`example_binary`]: the path of an example program, built for the running test's profile.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `cargo build -p <package> --example <name>` (in release when the running test is a
/// release build; a no-op when up to date) and returns the binary's path, next to the test's own
/// `target/<profile>/`. `manifest` is the workspace's `Cargo.toml`.
pub fn example_binary(manifest: &Path, package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<this test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a test binary under target/<profile>/deps");
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .args(["build", "--quiet", "-p", package, "--example", name])
        .arg("--manifest-path")
        .arg(manifest);
    if profile_dir.file_name().is_some_and(|dir| dir == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo to build an example");
    assert!(status.success(), "`cargo build --example {name}` failed");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing after the build",
        path.display()
    );
    path
}
