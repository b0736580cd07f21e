//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): thin wrappers over the
//! crate-private checks of what a browser sends. Not a public API.

use axum::http::HeaderMap;

use crate::Logto;

/// Whether `path` is a path on this site (`/…`, not `//host` or `/\host`).
pub fn is_local_path(path: &str) -> bool {
    logto::web::is_local_path(path)
}

/// Whether `/sign-in` keeps `return_to` and `/callback` redirects to it (a local path, not the
/// callback route).
pub fn can_return_to(logto: &Logto, path: &str) -> bool {
    logto.site().can_return_to(path)
}

/// The sign-in URL a signed-out visitor is sent to, asking to come back to `return_to`.
pub fn sign_in_location(logto: &Logto, return_to: Option<&str>) -> String {
    logto.site().sign_in_location(return_to)
}

/// Whether `/sign-out` takes the request for one from another site.
pub fn from_another_site(logto: &Logto, headers: &HeaderMap) -> bool {
    crate::routes::from_another_site(headers, logto.inner.site.base_url())
}
