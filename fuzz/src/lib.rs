//! What the fuzz targets share: a fixed signing key set in Logto's shape (ES384, plus EdDSA), a
//! signer, a loopback stand-in for a Logto tenant's discovery and JWKS endpoints (so that the SDK's
//! own public verification entry points run unchanged, their key sets fetched once), and a
//! runtime to drive the async entry points.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The app id of the configs (`aud` of ID tokens).
pub const APP_ID: &str = "fuzz-app";
/// The API resource of the access-token validator (`aud` of access tokens).
pub const API: &str = "https://api.fuzz.test";
/// The issuer the access-token validator expects (given as metadata, so fixed).
pub const API_ISSUER: &str = "https://tenant.fuzz.test/oidc";
/// The key ids of the key set.
pub const ES384_KID: &str = "DSPnzgw6at9KQwh34e1GvOmVjmdsdUY4WBpp2jbBCrA";
pub const EDDSA_KID: &str = "fuzz-ed25519";
/// In ID-token claims given to the signer, replaced by the stand-in tenant's issuer (its port is
/// chosen at run time).
pub const ISSUER_PLACEHOLDER: &[u8] = b"$ISS";

/// A P-384 key (PKCS #8), made for these targets only.
const ES384_PKCS8: &str = "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDC8bvg+61XNHc0Hen5Rnhvmxyl4DrUT+N9zlgSogTB7t8Te7+MsUQpSjT//qyTiDRahZANiAASSIKD90gTbs3l67NSzc4J/H27v5ivxnuwbh5durE11vgP2eqz1PeJjUfkwiJ6L9Rq+IFUHRZ0CFBqVmy/jvAvTqIMXA/zqKx9cltfRmmiGtlyMuDA/e7/0zbv9e15k5xQ=";
const ED25519_SEED: &[u8; 32] = b"logto-rs fuzz targets' ed25519 k";

/// The signing keys and their public JWKS.
pub struct Keys {
    es384: EcdsaKeyPair,
    eddsa: Ed25519KeyPair,
    rng: SystemRandom,
    /// `{"keys": [...]}` with both public keys, as Logto publishes them.
    pub jwks: String,
}

/// The key set.
pub static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let pkcs8 = STANDARD.decode(ES384_PKCS8).expect("base64");
    let es384 =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &pkcs8).expect("P-384 key");
    let eddsa = Ed25519KeyPair::from_seed_unchecked(ED25519_SEED).expect("Ed25519 seed");
    let point = es384.public_key().as_ref();
    let (x, y) = point[1..].split_at(48);
    let jwks = serde_json::json!({"keys": [
        {"kty": "EC", "use": "sig", "kid": ES384_KID, "alg": "ES384", "crv": "P-384",
         "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)},
        {"kty": "OKP", "use": "sig", "kid": EDDSA_KID, "alg": "EdDSA", "crv": "Ed25519",
         "x": URL_SAFE_NO_PAD.encode(eddsa.public_key().as_ref())},
    ]})
    .to_string();
    Keys {
        es384,
        eddsa,
        rng: SystemRandom::new(),
        jwks,
    }
});

/// The parsed key set.
pub static KEY_SET: LazyLock<logto_jwt::KeySet> =
    LazyLock::new(|| logto_jwt::KeySet::from_json(KEYS.jwks.as_bytes()).expect("JWKS"));

/// Which key signs.
#[derive(Clone, Copy, Debug)]
pub enum Signer {
    Es384,
    EdDsa,
}

impl Signer {
    /// One of the keys, by a byte of the input.
    pub fn pick(byte: u8) -> Signer {
        if byte & 1 == 0 {
            Signer::Es384
        } else {
            Signer::EdDsa
        }
    }
}

/// The compact JWS of `header` and `payload` (any bytes: they are base64url-encoded as they are),
/// signed with `signer`.
pub fn sign(header: &[u8], payload: &[u8], signer: Signer) -> String {
    let keys = &*KEYS;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = match signer {
        Signer::Es384 => keys
            .es384
            .sign(&keys.rng, token.as_bytes())
            .expect("ECDSA signing")
            .as_ref()
            .to_vec(),
        Signer::EdDsa => keys.eddsa.sign(token.as_bytes()).as_ref().to_vec(),
    };
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// `token` with one bit of its signature bytes flipped (chosen by `which`), re-encoded; `None`
/// when the token has no decodable, non-empty signature.
pub fn alter_signature(token: &str, which: usize) -> Option<String> {
    let (signed, signature) = token.rsplit_once('.')?;
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if bytes.is_empty() {
        return None;
    }
    let i = which % (bytes.len() * 8);
    bytes[i / 8] ^= 1 << (i % 8);
    Some(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Splits a structured input: the first byte (options), then what comes before and after the
/// first newline.
pub fn split_input(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&flags, rest) = data.split_first()?;
    let newline = rest.iter().position(|&b| b == b'\n')?;
    Some((flags, &rest[..newline], &rest[newline + 1..]))
}

/// Replaces every `from` in `data` by `to`.
pub fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// The runtime the async entry points run on (one thread: the fuzzer's).
pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
});

/// Runs `future` to completion on [`RUNTIME`].
pub fn block_on<F: Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}

/// A loopback stand-in for a Logto tenant: its discovery document (Logto 1.37's, with this
/// endpoint) and the key set. Nothing else is served.
pub struct FakeLogto {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    /// `<endpoint>/oidc`
    pub issuer: String,
}

/// The stand-in, started on first use.
pub static FAKE_LOGTO: LazyLock<FakeLogto> = LazyLock::new(|| {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let issuer = format!("{endpoint}/oidc");
    let discovery =
        include_str!("../fixtures/logto-discovery.json").replace("{endpoint}", &endpoint);
    let jwks = KEYS.jwks.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            serve(stream, &discovery, &jwks);
        }
    });
    FakeLogto { endpoint, issuer }
});

fn serve(mut stream: TcpStream, discovery: &str, jwks: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let path = line.split(' ').nth(1).unwrap_or("");
    let (status, body) = match path {
        "/oidc/.well-known/openid-configuration" => ("200 OK", discovery),
        "/oidc/jwks" => ("200 OK", jwks),
        _ => ("404 Not Found", "{\"error\":\"not_found\"}"),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A day: the key set is fetched once, never again during a run.
pub const NO_REFETCH: Duration = Duration::from_secs(86_400);

/// The web-app config of the stand-in tenant (the ID-token target, logto-axum's routes).
pub static CONFIG: LazyLock<logto::LogtoConfig> = LazyLock::new(|| {
    logto::LogtoConfig::builder(FAKE_LOGTO.endpoint.clone(), APP_ID)
        .app_secret("fuzz-secret")
        .scopes([
            logto::UserInfoScope::Email,
            logto::UserInfoScope::Organizations,
        ])
        .resources([API])
        .jwks_min_refresh_interval(NO_REFETCH)
        .build()
        .expect("config")
});

/// The runtime over [`CONFIG`]: one per run, so that Logto's keys are fetched once.
pub static HANDLE: LazyLock<logto::LogtoHandle> =
    LazyLock::new(|| logto::LogtoHandle::new(CONFIG.clone()).expect("handle"));

/// Seconds since the epoch.
pub fn now() -> u64 {
    logto_jwt::unix_now()
}

/// The base URL of the logto-axum app (under a path prefix, so that prefixed paths are covered).
pub const APP_BASE: &str = "https://app.fuzz.test/shop";

/// The logto-axum handle of the app, over [`CONFIG`].
pub static AXUM: LazyLock<logto_axum::Logto> = LazyLock::new(|| {
    logto_axum::Logto::builder(CONFIG.clone(), APP_BASE)
        .build()
        .expect("logto-axum handle")
});

/// The app's router over a fresh in-memory session store: logto-axum's routes, `/shop/me` (an
/// [`Auth`](logto_axum::Auth) page that says whether the visitor is signed in) and, for every
/// other path, a page that needs a signed-in visitor.
pub fn app(store: tower_sessions::MemoryStore) -> axum::Router {
    ROUTES.clone().layer(AXUM.layer(store))
}

static ROUTES: LazyLock<axum::Router> = LazyLock::new(|| {
    use axum::routing::get;
    async fn me(auth: logto_axum::Auth) -> &'static str {
        match auth.is_authenticated().await {
            Ok(true) => "signed-in",
            Ok(false) => "signed-out",
            Err(_) => "error",
        }
    }
    async fn private(_: logto_axum::Authenticated) -> &'static str {
        "private"
    }
    axum::Router::new()
        .nest(
            "/shop",
            AXUM.router().route("/me", get(me)).fallback(private),
        )
        .fallback(private)
});

/// Sends `request` to `app`; the response head and body.
pub fn send(
    app: axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::response::Parts, Vec<u8>) {
    use tower::ServiceExt;
    block_on(async move {
        let response = app.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.expect("a body");
        (parts, body.to_vec())
    })
}

/// The value of the session cookie a response sets, if it sets one.
pub fn set_session_cookie(parts: &axum::http::response::Parts) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("logto_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// Starts a sign-in on `app` (`GET /shop/sign-in`, with `query`); the session cookie's value.
pub fn start_sign_in(app: axum::Router, query: &str) -> (axum::http::response::Parts, String) {
    let request = axum::http::Request::get(format!("/shop/sign-in{query}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let (parts, _) = send(app, request);
    let sid = set_session_cookie(&parts).unwrap_or_default();
    (parts, sid)
}

static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FUZZ_TRACE").is_some());

/// Prints `what` when `FUZZ_TRACE` is set: to see which inputs reach the deep branches
/// (`FUZZ_TRACE=1 <target binary> <input files>`).
pub fn trace(what: &str) {
    if *TRACE {
        eprintln!("fuzz trace: {what}");
    }
}
