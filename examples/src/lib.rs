//! The examples' shared crate. It has no API; it holds the doctests of the repository's root
//! README and of the guides in docs/, whose snippets use every crate of the workspace (the examples
//! depend on all of them).

/// The root README's code blocks, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_doctests {}

/// The code blocks of docs/connectors.md (social sign-in and enterprise SSO).
#[cfg(doctest)]
#[doc = include_str!("../../docs/connectors.md")]
mod connectors_doctests {}
