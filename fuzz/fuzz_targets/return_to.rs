//! `return_to`, the page to land on after sign-in, from the two places a browser puts it:
//! the `return_to` query parameter of `GET /sign-in` (kept in the session when it is a local
//! path; `/callback` redirects there) and the path of a page that needs a signed-in visitor (the
//! redirect to sign-in carries it). Also logto-axum's `is_local_path` and sign-in URL directly.
//!
//! Input: the candidate path (any string).
//!
//! Properties: whatever is kept or sent on as `return_to` is a local path that resolves, from any
//! page of the app, to a URL of the app's origin; a non-local one, or the callback route (its
//! query holds a spent code), is dropped, never rewritten.
#![no_main]

use axum::body::Body;
use axum::http::{Request, StatusCode, Uri, header};
use libfuzzer_sys::fuzz_target;
use logto_axum::fuzzing::{can_return_to, is_local_path, sign_in_location};
use logto_fuzz::{APP_BASE, AXUM, app, send, start_sign_in};
use tower_sessions::session::Id;
use tower_sessions::{MemoryStore, SessionStore};
use url::Url;

/// Checks that `path` is safe to redirect to from every page of the app.
fn assert_same_origin(path: &str) {
    assert!(is_local_path(path), "{path:?}");
    let base = Url::parse(APP_BASE).unwrap();
    for page in [
        "https://app.fuzz.test/shop/callback",
        "https://app.fuzz.test/",
        "https://app.fuzz.test/shop/a/b?c#d",
    ] {
        let resolved = Url::parse(page)
            .unwrap()
            .join(path)
            .expect("a local path resolves");
        assert_eq!(
            resolved.origin(),
            base.origin(),
            "{path:?} leaves the app from {page}"
        );
    }
}

/// The `return_to` of a sign-in URL (`/shop/sign-in?return_to=…`), if any.
fn return_to_of(location: &str) -> Option<String> {
    let url = Url::parse("https://app.fuzz.test")
        .unwrap()
        .join(location)
        .unwrap();
    assert_eq!(url.path(), "/shop/sign-in", "{location}");
    let values: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert!(values.len() <= 1);
    values.into_iter().next()
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if is_local_path(path) {
        assert_same_origin(path);
    }
    let location = sign_in_location(&AXUM, Some(path));
    match return_to_of(&location) {
        Some(kept) => {
            assert_eq!(kept, path);
            assert_same_origin(&kept);
        }
        None => assert!(!can_return_to(&AXUM, path)),
    }

    // A page that needs a signed-in visitor, asked for by a signed-out one.
    if let Ok(uri) = path.parse::<Uri>() {
        if uri.scheme().is_none() && uri.path().starts_with('/') {
            let request = Request::get(uri).header(header::ACCEPT, "text/html");
            let (parts, _) = send(
                app(MemoryStore::default()),
                request.body(Body::empty()).unwrap(),
            );
            // Only the redirects to the app's sign-in page (`/shop/sign-in` and `/shop/sign-out`
            // themselves redirect to Logto).
            let location = parts
                .headers
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok());
            if let Some(location) = location.filter(|l| l.starts_with("/shop/sign-in")) {
                if let Some(kept) = return_to_of(location) {
                    assert_same_origin(&kept);
                }
            }
        }
    }

    // `GET /sign-in?return_to=…`: what the session keeps for the callback.
    let query: String = url::form_urlencoded::Serializer::new(String::from("?"))
        .append_pair("return_to", path)
        .finish();
    let store = MemoryStore::default();
    let (parts, sid) = start_sign_in(app(store.clone()), &query);
    assert_eq!(
        parts.status,
        StatusCode::SEE_OTHER,
        "sign-in redirects to Logto"
    );
    let id: Id = sid.parse().expect("a session id");
    let record = logto_fuzz::block_on(store.load(&id))
        .unwrap()
        .expect("the session");
    // Kept per sign-in (one per tab): `[state, path]` pairs, the state of the Logto URL.
    match record.data.get("logto_axum.return_to") {
        Some(kept) => {
            let pages: Vec<(String, String)> =
                serde_json::from_value(kept.clone()).expect("[state, path] pairs");
            assert_eq!(pages.len(), 1, "{pages:?}");
            let (state, kept) = &pages[0];
            let logto = parts.headers[header::LOCATION].to_str().unwrap();
            let logto = Url::parse(logto).expect("the Logto URL");
            let sent = logto.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v);
            assert_eq!(sent.as_deref(), Some(state.as_str()));
            assert_eq!(kept, path);
            assert_same_origin(kept);
        }
        None => assert!(!can_return_to(&AXUM, path)),
    }
});
