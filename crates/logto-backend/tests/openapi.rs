//! `openapi/management-api.json` is what the real Logto documents for the typed calls: the
//! operations of its `GET /api/swagger.json` (generated from `packages/core/src/routes`: the
//! routes' guards and their `*.openapi.json`), descriptions left out. The crate's unit tests
//! check the typed calls against that file.
//!
//! To refresh it (a new Logto version, a new typed call):
//! `LOGTO_BACKEND_REFRESH_OPENAPI=1 cargo nextest run -p logto-backend --test openapi`.

use logto_test_support::RealLogto;
use serde_json::{Map, Value, json};

const EXTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/management-api.json");

/// Drops documentation text (`description` and `summary` strings; a property named
/// `description` is a schema object and stays).
fn without_docs(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| {
                    !(matches!(k.as_str(), "description" | "summary") && v.is_string())
                })
                .map(|(k, v)| (k.clone(), without_docs(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_docs).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn the_checked_in_openapi_extract_is_what_logto_serves() {
    let Some(logto) = RealLogto::connect().await else {
        return;
    };
    let served: Value = reqwest::get(logto.url("/api/swagger.json"))
        .await
        .expect("GET /api/swagger.json")
        .json()
        .await
        .expect("swagger.json is JSON");
    let mut paths = Map::new();
    for (method, path) in logto_backend::__typed_operations() {
        let operation = &served["paths"][path][method];
        assert!(
            operation.is_object(),
            "Logto does not serve {method} {path}: the typed call is wrong"
        );
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = without_docs(operation);
    }
    let extract = json!({
        "info": { "title": served["info"]["title"], "version": served["info"]["version"] },
        "paths": Value::Object(paths),
    });
    let text = format!("{}\n", serde_json::to_string_pretty(&extract).unwrap());
    if std::env::var("LOGTO_BACKEND_REFRESH_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(EXTRACT, &text).expect("write the extract");
        return;
    }
    let checked_in = std::fs::read_to_string(EXTRACT).unwrap_or_default();
    assert!(
        checked_in == text,
        "openapi/management-api.json differs from what this Logto serves: refresh it with \
         LOGTO_BACKEND_REFRESH_OPENAPI=1 cargo nextest run -p logto-backend --test openapi"
    );
}
