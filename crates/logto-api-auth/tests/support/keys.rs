//! Test keys and token signing: shared with the other crates' tests.
#![allow(unused_imports)]

pub use logto_test_support::keys::*;
