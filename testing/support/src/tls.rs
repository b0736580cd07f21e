//! An https OpenID provider behind a certificate authority generated for each server: for the
//! tests of `.root_certificate(pem)` and `.http_client(client)` (a self-hosted Logto behind a
//! private CA). It serves discovery, the JWKS and a client-credentials token endpoint at
//! `https://127.0.0.1:<port>`, with a certificate the system does not trust.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::keys::{TestKey, jwks};

/// A certificate authority: its certificate (PEM) and the issuer that signs server certificates.
pub struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A fresh CA (`CN=logto-rs test CA`).
    pub fn generate() -> TestCa {
        let key = KeyPair::generate().expect("generate the CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "logto-rs test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign the CA");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `127.0.0.1` and `localhost` signed by this CA, and its key.
    fn server_certificate(&self) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("generate the server key");
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server certificate parameters");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign the server certificate");
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }
}

#[derive(Default)]
struct Hits {
    discovery: AtomicUsize,
    jwks: AtomicUsize,
    token: AtomicUsize,
}

struct Shared {
    issuer: String,
    key: TestKey,
    hits: Hits,
}

/// The https test IdP; stopped when dropped.
pub struct TlsIdp {
    endpoint: String,
    ca: TestCa,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsIdp {
    /// Starts the server on a free port, with a fresh CA and signing key (ES384).
    pub async fn start() -> TlsIdp {
        let ca = TestCa::generate();
        let (cert, key) = ca.server_certificate();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("the server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("the bound address");
        let endpoint = format!("https://127.0.0.1:{}", addr.port());
        let shared = Arc::new(Shared {
            issuer: format!("{endpoint}/oidc"),
            key: TestKey::generate("ES384", "tls-key"),
            hits: Hits::default(),
        });
        let app = Router::new()
            .route("/oidc/.well-known/openid-configuration", get(discovery))
            .route("/oidc/jwks", get(keys))
            .route("/oidc/token", post(token))
            .with_state(shared.clone());
        let listener = TlsListener { listener, acceptor };
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve https");
        });
        TlsIdp {
            endpoint,
            ca,
            shared,
            task,
        }
    }

    /// `https://127.0.0.1:<port>`, the Logto endpoint (without `/oidc`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `<endpoint>/oidc`.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The PEM of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        self.ca.pem()
    }

    /// An access token for `resource`, signed with the key the JWKS publishes.
    pub fn access_token(&self, resource: &str, scope: &str) -> String {
        access_token(&self.shared, resource, scope)
    }

    /// How many discovery, JWKS and token requests the server answered.
    pub fn hits(&self) -> (usize, usize, usize) {
        let hits = &self.shared.hits;
        (
            hits.discovery.load(Ordering::SeqCst),
            hits.jwks.load(Ordering::SeqCst),
            hits.token.load(Ordering::SeqCst),
        )
    }
}

fn access_token(shared: &Shared, resource: &str, scope: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    shared.key.sign(
        &json!({"iss": shared.issuer, "sub": "m2m-app", "client_id": "m2m-app", "aud": resource,
                "iat": now, "exp": now + 3600, "scope": scope}),
        json!({}),
    )
}

async fn discovery(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    shared.hits.discovery.fetch_add(1, Ordering::SeqCst);
    let at = |path: &str| format!("{}/{path}", shared.issuer);
    axum::Json(json!({
        "issuer": shared.issuer,
        "authorization_endpoint": at("auth"),
        "token_endpoint": at("token"),
        "userinfo_endpoint": at("me"),
        "jwks_uri": at("jwks"),
        "end_session_endpoint": at("session/end"),
        "revocation_endpoint": at("token/revocation"),
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn keys(State(shared): State<Arc<Shared>>) -> String {
    shared.hits.jwks.fetch_add(1, Ordering::SeqCst);
    jwks(&[&shared.key])
}

async fn token(State(shared): State<Arc<Shared>>, body: String) -> axum::Json<Value> {
    shared.hits.token.fetch_add(1, Ordering::SeqCst);
    let resource = url::form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "resource")
        .map_or_else(String::new, |(_, value)| value.into_owned());
    axum::Json(json!({
        "access_token": access_token(&shared, &resource, "read"),
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read",
    }))
}

/// Accepts TCP connections and completes the TLS handshake; connections whose handshake fails
/// (a client that does not trust the CA) are dropped.
struct TlsListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.listener.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(stream);
            if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(5), handshake).await {
                return (stream, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
