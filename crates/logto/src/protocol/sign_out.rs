//! The end-session URL (OpenID Connect RP-Initiated Logout).

use url::Url;

use crate::error::LogtoError;

/// `end_session_endpoint?client_id=…[&post_logout_redirect_uri=…]`, as Logto's SDKs send it.
pub(crate) fn end_session_url(
    end_session_endpoint: &Url,
    client_id: &str,
    post_logout_redirect_uri: Option<&str>,
) -> Result<String, LogtoError> {
    let mut url = end_session_endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("client_id", client_id);
        if let Some(uri) = post_logout_redirect_uri {
            Url::parse(uri).map_err(|e| {
                LogtoError::InvalidArgument(format!(
                    "the post-logout redirect URI {uri:?} is not an absolute URL ({e})"
                ))
            })?;
            query.append_pair("post_logout_redirect_uri", uri);
        }
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_url() {
        let endpoint = Url::parse("https://l.test/oidc/session/end").unwrap();
        assert_eq!(
            end_session_url(&endpoint, "app", Some("https://app.test/")).unwrap(),
            "https://l.test/oidc/session/end?client_id=app&post_logout_redirect_uri=https%3A%2F%2Fapp.test%2F"
        );
        assert_eq!(
            end_session_url(&endpoint, "app", None).unwrap(),
            "https://l.test/oidc/session/end?client_id=app"
        );
        assert!(end_session_url(&endpoint, "app", Some("/home")).is_err());
    }
}
