//! Tests of the sample web app as users run it: the `web-app` example binary in its own
//! processes, against the test IdP (and a private Redis server, and headless Chromium).

mod browser;
mod contract;
mod harness;
mod restart;
mod shared_redis;
