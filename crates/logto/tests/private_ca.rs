//! A Logto behind a private certificate authority: trusted only with `.root_certificate(pem)` or
//! a client that trusts it (`LogtoHandle::with_http_client`).

use logto::{LogtoClient, LogtoConfig, LogtoError, LogtoHandle, MemoryStorage, reqwest};
use logto_test_support::{TestCa, TlsIdp};

const REDIRECT_URI: &str = "https://app.example.com/callback";

async fn sign_in(config: LogtoConfig) -> Result<String, LogtoError> {
    sign_in_with(LogtoHandle::new(config)?).await
}

async fn sign_in_with(handle: LogtoHandle) -> Result<String, LogtoError> {
    LogtoClient::new(handle, MemoryStorage::new())
        .sign_in(REDIRECT_URI)
        .await
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_given() {
    let idp = TlsIdp::start().await;

    // The system does not trust the CA: a typed error that says what to do.
    let config = LogtoConfig::builder(idp.endpoint(), "app").build().unwrap();
    let error = sign_in(config).await.unwrap_err();
    assert!(
        matches!(
            error,
            LogtoError::UntrustedCertificate {
                operation: "discovery",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(".root_certificate(pem)"),
        "{error}"
    );
    // Another CA does not help.
    let config = LogtoConfig::builder(idp.endpoint(), "app")
        .root_certificate(TestCa::generate().pem())
        .build()
        .unwrap();
    let error = sign_in(config).await.unwrap_err();
    assert!(
        matches!(error, LogtoError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    assert_eq!(idp.hits().0, 0, "no request got through");

    // With the CA: discovery over https, and the sign-in URL is Logto's.
    let config = LogtoConfig::builder(idp.endpoint(), "app")
        .root_certificate(idp.ca_pem())
        .build()
        .unwrap();
    let url = sign_in(config).await.unwrap();
    assert!(url.starts_with(&format!("{}/auth?", idp.issuer())), "{url}");
    assert_eq!(idp.hits().0, 1);

    // A bundle of several certificates, the right CA among them.
    let bundle = format!("{}{}", TestCa::generate().pem(), idp.ca_pem());
    let config = LogtoConfig::builder(idp.endpoint(), "app")
        .root_certificate(bundle)
        .build()
        .unwrap();
    sign_in(config).await.unwrap();
    assert_eq!(idp.hits().0, 2);
}

#[tokio::test]
async fn a_client_of_the_application_is_used() {
    let idp = TlsIdp::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge([reqwest::Certificate::from_pem(idp.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let config = LogtoConfig::builder(idp.endpoint(), "app").build().unwrap();
    let url = sign_in_with(LogtoHandle::with_http_client(config, client).unwrap())
        .await
        .unwrap();
    assert!(url.starts_with(&format!("{}/auth?", idp.issuer())), "{url}");
    assert_eq!(idp.hits().0, 1);

    // The given client wins over root certificates: one that does not trust the CA fails.
    let untrusting = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let config = LogtoConfig::builder(idp.endpoint(), "app")
        .root_certificate(idp.ca_pem())
        .build()
        .unwrap();
    let error = sign_in_with(LogtoHandle::with_http_client(config, untrusting).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(error, LogtoError::UntrustedCertificate { .. }),
        "{error:?}"
    );
}

#[test]
fn an_unusable_root_certificate_is_a_typed_error() {
    for pem in [
        "not PEM".to_owned(),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
            .to_owned(),
    ] {
        let config = LogtoConfig::builder("https://logto.example.com", "app")
            .root_certificate(pem.clone())
            .build()
            .unwrap();
        let error = LogtoHandle::new(config).unwrap_err();
        assert!(
            matches!(error, LogtoError::InvalidRootCertificate(_)),
            "{pem}: {error:?}"
        );
    }
}
