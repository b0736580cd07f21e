//! The examples' shared crate. It has no API; it holds the doctests of the repository's root
//! README, whose snippets use every crate of the workspace (the examples depend on all of them).

/// The root README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_doctests {}
