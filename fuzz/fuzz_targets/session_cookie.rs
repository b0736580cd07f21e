//! Requests to a logto-axum app with whatever `Cookie` and other headers a browser (or anyone)
//! sends: the session cookie read by the session layer (tower-sessions with logto-axum's
//! settings), the session and token records loaded, and logto-axum's routes (`/sign-in`,
//! `/callback`, `/sign-out` with its cross-site check) and extractors run over them.
//!
//! Input: the request target (first line), then header lines `name: value`. Each run starts a
//! sign-in first, in a fresh store; `$SID` in the input stands for that session's cookie value.
//! A line `POST` as the target sends a POST to `/shop/sign-out`.
//!
//! Properties: no answer is a server error; nobody is ever signed in (no sign-in completes
//! here); a session cookie the response sets is scoped to the app's path and, unless it removes
//! the cookie, `HttpOnly`, `SameSite=Lax` and `Secure`, with a value the request never chose (no
//! session fixation) unless it is the server's own.
#![no_main]

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Uri, header};
use libfuzzer_sys::fuzz_target;
use logto_fuzz::{app, replace, send, start_sign_in};
use tower_sessions::MemoryStore;

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::default();
    let (_, sid) = start_sign_in(app(store.clone()), "");
    assert!(!sid.is_empty(), "a sign-in sets the session cookie");
    let data = replace(data, b"$SID", sid.as_bytes());
    let mut lines = data.split(|&b| b == b'\n');
    let target = lines.next().unwrap_or_default();
    let (method, uri) = if target == b"POST" {
        (Method::POST, Uri::from_static("/shop/sign-out"))
    } else {
        match Uri::try_from(target) {
            Ok(uri) if uri.scheme().is_none() && uri.path().starts_with('/') => (Method::GET, uri),
            _ => (Method::GET, Uri::from_static("/shop/me")),
        }
    };
    let mut request = Request::builder().method(method).uri(uri);
    let mut sent_cookies = Vec::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        if name == header::COOKIE {
            sent_cookies.push(value.as_bytes().to_vec());
        }
        request = request.header(name, value);
    }
    let (parts, body) = send(app(store), request.body(Body::empty()).unwrap());
    assert!(
        !parts.status.is_server_error(),
        "{}: {}",
        parts.status,
        String::from_utf8_lossy(&body)
    );
    assert_ne!(body, b"signed-in", "signed in without a sign-in");
    for cookie in parts.headers.get_all(header::SET_COOKIE) {
        let cookie = cookie.to_str().expect("an ASCII cookie");
        let Some(rest) = cookie.strip_prefix("logto_session=") else {
            continue;
        };
        let value = rest.split(';').next().unwrap();
        let has = |attribute: &str| cookie.split("; ").any(|a| a == attribute);
        // A removal (empty, `Max-Age=0`) only needs the path, to remove the right cookie.
        assert!(has("Path=/shop"), "{cookie}: not the app's path");
        if value.is_empty() {
            assert!(
                has("Max-Age=0"),
                "{cookie}: an empty session cookie that is not a removal"
            );
            continue;
        }
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
            assert!(has(attribute), "{cookie}: no {attribute}");
        }
        if value != sid {
            assert!(
                !sent_cookies
                    .iter()
                    .any(|c| c.windows(value.len()).any(|w| w == value.as_bytes())),
                "the response adopted a session id the request chose: {cookie}"
            );
        }
    }
});
