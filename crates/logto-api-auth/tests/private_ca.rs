//! A Logto behind a private certificate authority: discovery and the JWKS are fetched only with
//! `.root_certificate(pem)` or a client that trusts the CA (`.http_client(client)`).

use logto_api_auth::{BuildError, Validator, reqwest};
use logto_test_support::{TestCa, TlsIdp};

const API: &str = "https://api.example.com";

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_given() {
    let idp = TlsIdp::start().await;

    let error = Validator::builder(idp.endpoint())
        .resource(API)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BuildError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(".root_certificate(pem)"),
        "{error}"
    );
    let error = Validator::builder(idp.endpoint())
        .resource(API)
        .root_certificate(TestCa::generate().pem())
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(error, BuildError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    assert_eq!(idp.hits(), (0, 0, 0), "no request got through");

    // With the CA: discovery, then the JWKS on the first token.
    let validator = Validator::builder(idp.endpoint())
        .resource(API)
        .root_certificate(idp.ca_pem())
        .build()
        .await
        .unwrap();
    assert_eq!(validator.issuer(), idp.issuer());
    let auth = validator
        .validate(&idp.access_token(API, "read"))
        .await
        .unwrap();
    assert_eq!(auth.subject(), Some("m2m-app"));
    assert_eq!(idp.hits(), (1, 1, 0));
}

#[tokio::test]
async fn a_client_of_the_application_is_used() {
    let idp = TlsIdp::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge([reqwest::Certificate::from_pem(idp.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let validator = Validator::builder(idp.endpoint())
        .resource(API)
        .http_client(client)
        .build()
        .await
        .unwrap();
    validator
        .validate(&idp.access_token(API, "read"))
        .await
        .unwrap();
    assert_eq!(idp.hits(), (1, 1, 0));
}

#[tokio::test]
async fn metadata_without_discovery_uses_the_root_certificate_for_the_jwks() {
    let idp = TlsIdp::start().await;
    let jwks_uri = format!("{}/jwks", idp.issuer());
    let validator = Validator::builder_from_metadata(idp.issuer(), &jwks_uri)
        .resource(API)
        .build()
        .await
        .unwrap();
    let error = validator
        .validate(&idp.access_token(API, "read"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), 503, "{error}");
    assert!(
        error.to_string().contains(".root_certificate(pem)"),
        "{error}"
    );

    let validator = Validator::builder_from_metadata(idp.issuer(), &jwks_uri)
        .resource(API)
        .root_certificate(idp.ca_pem())
        .build()
        .await
        .unwrap();
    validator
        .validate(&idp.access_token(API, "read"))
        .await
        .unwrap();
    assert_eq!(idp.hits(), (0, 1, 0));
}
