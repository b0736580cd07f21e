//! The repository's guides, as documentation: the root README and the guides in `docs/`. Their
//! code blocks are compiled by `cargo test --doc` (they need a Logto to run, so they are not run).

#[doc = include_str!("../../README.md")]
pub mod readme {}

#[doc = include_str!("../connectors.md")]
pub mod connectors {}

#[doc = include_str!("../decisions.md")]
pub mod decisions {}
