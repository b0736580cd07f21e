//! The HTML of the sample's pages. Stable element ids let the browser test read them.

use logto::web::escape_html as escape;
use serde_json::Value;

use crate::settings::Connectors;

fn encode(component: &str) -> String {
    url::form_urlencoded::byte_serialize(component.as_bytes()).collect()
}

const NAV: &str = r#"<nav><a href="/">Home</a> · <a href="/protected">Protected</a> · <a href="/protected/userinfo">User info</a></nav>"#;

/// A whole page.
pub fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}}
pre{{background:#f4f4f6;padding:.75rem;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}}
a.button{{display:inline-block;padding:.5rem 1rem;margin-right:.5rem;border-radius:6px;background:#5d34f2;color:#fff;text-decoration:none}}
nav{{margin-bottom:1.5rem}} li{{margin:.3rem 0}}
form input[type=email]{{padding:.45rem;margin:0 .5rem;border:1px solid #bbb;border-radius:6px}}
form button{{padding:.5rem 1rem;border:0;border-radius:6px;background:#5d34f2;color:#fff;cursor:pointer}}
</style>
</head>
<body>
{NAV}
<h1>{title}</h1>
{body}
</body>
</html>
"#,
        title = escape(title),
    )
}

/// `value` as indented JSON in `<pre id="{id}">`, under a heading.
pub fn json_section(heading: &str, id: &str, value: &Value) -> String {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    format!(
        "<h2>{}</h2>\n<pre id=\"{id}\">{}</pre>\n",
        escape(heading),
        escape(&pretty)
    )
}

/// The signed-out home page: sign in or up, and the ways past Logto's sign-in page (a social
/// connector, enterprise SSO by work email or by connector).
pub fn signed_out(connectors: &Connectors) -> String {
    let mut buttons = String::from(
        r#"<a class="button" id="sign-in" href="/sign-in">Sign in</a><a class="button" id="sign-up" href="/sign-in?interaction_mode=signUp">Sign up</a>"#,
    );
    if let Some((target, name)) = &connectors.social {
        buttons.push_str(&format!(
            r#"<a class="button" id="sign-in-social" href="{}">Continue with {}</a>"#,
            escape(&sign_in_url(&[(
                "direct_sign_in",
                &format!("social:{target}")
            )])),
            escape(name)
        ));
    }
    if let Some(connector_id) = &connectors.sso_connector_id {
        buttons.push_str(&format!(
            r#"<a class="button" id="sign-in-sso" href="{}">Sign in with SSO</a>"#,
            escape(&sign_in_url(&[(
                "direct_sign_in",
                &format!("sso:{connector_id}")
            )]))
        ));
    }
    // A GET form: the browser sends /sign-in?first_screen=single_sign_on&login_hint=<email>.
    // Logto opens its single sign-on page, which finds the SSO connector by the email's domain.
    let sso_form = r#"<form id="sign-in-sso-form" method="get" action="/sign-in">
<input type="hidden" name="first_screen" value="single_sign_on">
<label for="sign-in-sso-email">Work email</label>
<input type="email" id="sign-in-sso-email" name="login_hint" required autocomplete="email" placeholder="you@company.com">
<button type="submit" id="sign-in-sso-submit">Continue with SSO</button>
</form>"#;
    document(
        "Logto Rust sample",
        &format!(
            "<p id=\"signed-out\">You are not signed in.</p>\n<p>{buttons}</p>\n<h2>Single sign-on</h2>\n{sso_form}\n"
        ),
    )
}

/// `/sign-in` with these query parameters, URL-encoded.
fn sign_in_url(params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/sign-in?{query}")
}

pub fn signed_in(claims: &Value, resources: &[String], organizations: &[String]) -> String {
    let who = claims["name"]
        .as_str()
        .or(claims["username"].as_str())
        .or(claims["sub"].as_str())
        .unwrap_or("you");
    let mut links = String::from(
        "<li><a id=\"link-userinfo\" href=\"/protected/userinfo\">User info (fetched from Logto)</a></li>\n",
    );
    for resource in resources {
        links.push_str(&format!(
            "<li><a class=\"link-resource\" href=\"/protected/resource?resource={}\">Access token for {}</a></li>\n",
            encode(resource),
            escape(resource)
        ));
    }
    for organization in organizations {
        links.push_str(&format!(
            "<li><a class=\"link-organization\" href=\"/protected/organizations/{}\">Organization token for {}</a></li>\n",
            encode(organization),
            escape(organization)
        ));
    }
    document(
        "Logto Rust sample",
        &format!(
            "<p id=\"signed-in\">Signed in as <strong id=\"user\">{}</strong>.</p>\n{}<h2>Try</h2>\n<ul>\n{links}</ul>\n<p><a class=\"button\" id=\"sign-out\" href=\"/sign-out\">Sign out</a></p>\n",
            escape(who),
            json_section("ID token claims", "claims", claims),
        ),
    )
}

/// A token page: the token, shortened (the JSON answer has it whole), and its claims.
pub fn token_page(title: &str, id: &str, token: &str, claims: &Value) -> String {
    let shown = match token.char_indices().nth(24) {
        Some((cut, _)) => format!("{}… ({} characters)", &token[..cut], token.len()),
        None => token.to_owned(),
    };
    document(
        title,
        &format!(
            "<p>Token: <code id=\"{id}\">{}</code></p>\n{}",
            escape(&shown),
            json_section("Claims", &format!("{id}-claims"), claims)
        ),
    )
}
