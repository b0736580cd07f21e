//! A Logto behind a private certificate authority: trusted only with `.root_certificate(pem)` or
//! a client that trusts it (`.http_client(client)`).

use logto_backend::{BackendError, Management, TokenExchange, TokenSource, reqwest};
use logto_test_support::{TestCa, TlsIdp};

const API: &str = "https://api.example.com";

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_given() {
    let idp = TlsIdp::start().await;
    let builder = || TokenSource::builder(idp.endpoint(), "m2m-app", "secret").resource(API);

    let error = builder().build().unwrap().access_token().await.unwrap_err();
    assert!(
        matches!(
            error,
            BackendError::UntrustedCertificate {
                operation: "client credentials token request",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(".root_certificate(pem)"),
        "{error}"
    );
    assert!(!error.is_transient(), "retrying does not help");
    let error = builder()
        .root_certificate(TestCa::generate().pem())
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    assert_eq!(idp.hits().2, 0, "no request got through");

    let token = builder()
        .root_certificate(idp.ca_pem())
        .build()
        .unwrap()
        .access_token()
        .await
        .unwrap();
    assert_eq!(token.scope(), Some("read"));
    assert_eq!(idp.hits().2, 1);
}

#[tokio::test]
async fn a_client_of_the_application_is_used() {
    let idp = TlsIdp::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge([reqwest::Certificate::from_pem(idp.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let source = TokenSource::builder(idp.endpoint(), "m2m-app", "secret")
        .resource(API)
        .http_client(client)
        .build()
        .unwrap();
    source.access_token().await.unwrap();
    assert_eq!(idp.hits().2, 1);
}

#[test]
fn every_builder_refuses_an_unusable_root_certificate() {
    let pem = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let endpoint = "https://logto.example.com";
    let errors = [
        TokenSource::builder(endpoint, "app", "secret")
            .root_certificate(pem)
            .build()
            .unwrap_err(),
        Management::builder(endpoint, "app", "secret")
            .root_certificate(pem)
            .build()
            .unwrap_err(),
        TokenExchange::builder(endpoint, "app")
            .root_certificate("no PEM here")
            .build()
            .unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(error, BackendError::InvalidRootCertificate(_)),
            "{error:?}"
        );
    }
}
