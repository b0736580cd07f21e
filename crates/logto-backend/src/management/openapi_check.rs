//! The typed calls checked against Logto's OpenAPI document (`openapi/management-api.json`: the
//! operations of `GET /api/swagger.json` of Logto 1.37.1 that the typed calls use, which
//! `tests/openapi.rs` keeps equal to what the real Logto serves).
//!
//! For each typed call: its method and path exist; the request bodies it can send (every field
//! set, and none of the optional ones) match the request schema (known fields, types, required
//! fields); the response type reads both the smallest answer the schema allows (required fields
//! only, `null` where nullable) and the largest (every field), so it requires nothing Logto may
//! leave out and accepts every type Logto documents.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::types::*;
use super::{Operation, bodies, ops};

const DOCUMENT: &str = include_str!("../../openapi/management-api.json");

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi/management-api.json is JSON")
}

fn operation(document: &Value, op: Operation) -> &Value {
    let found = &document["paths"][op.path][op.method];
    assert!(
        found.is_object(),
        "{} {} is not in Logto's OpenAPI document (refresh openapi/management-api.json: see tests/openapi.rs)",
        op.method,
        op.path
    );
    found
}

fn request_schema(operation: &Value) -> &Value {
    &operation["requestBody"]["content"]["application/json"]["schema"]
}

/// The JSON schema of the first 2xx response with a body, if any.
fn response_schema(operation: &Value) -> Option<&Value> {
    operation["responses"]
        .as_object()?
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .map(|(_, response)| &response["content"]["application/json"]["schema"])
        .find(|schema| schema.is_object())
}

/// Where `value` breaks `schema` (the subset of OpenAPI 3 schemas Logto's document uses).
fn violations(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != json!(true) && schema.get("type").is_some() {
            out.push(format!("{at}: null, but the schema is not nullable"));
        }
        return;
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        let fits = branches.iter().any(|branch| {
            let mut errors = Vec::new();
            violations(value, branch, at, &mut errors);
            errors.is_empty()
        });
        if !fits {
            out.push(format!("{at}: {value} fits no oneOf branch"));
        }
        return;
    }
    let fits_type = match schema["type"].as_str() {
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !fits_type {
        out.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            out.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let (Some(items), Some(schema_items)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            violations(item, schema_items, &format!("{at}[{i}]"), out);
        }
    }
    if let (Some(fields), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for (name, field) in fields {
            match properties.get(name) {
                Some(property) => violations(field, property, &format!("{at}.{name}"), out),
                None => out.push(format!("{at}.{name}: not a documented field")),
            }
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !fields.contains_key(name) {
                out.push(format!("{at}.{name}: required, but not sent"));
            }
        }
    }
}

/// The smallest (`full == false`) or largest value the schema allows.
fn instance(schema: &Value, full: bool) -> Value {
    if !full && schema["nullable"] == json!(true) {
        return Value::Null;
    }
    if let Some(first) = schema["oneOf"].as_array().and_then(|b| b.first()) {
        return instance(first, full);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("string") => json!("x"),
        Some("number") | Some("integer") => json!(1),
        Some("boolean") => json!(false),
        Some("array") if full => json!([instance(&schema["items"], true)]),
        Some("array") => json!([]),
        Some("object") => {
            let mut object = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if full || required.contains(&name.as_str()) {
                    object.insert(name.clone(), instance(property, full));
                }
            }
            Value::Object(object)
        }
        _ => json!({}),
    }
}

fn check_request(op: Operation, bodies: &[Value]) {
    let document = document();
    let schema = request_schema(operation(&document, op));
    assert!(
        schema.is_object(),
        "{} {} takes no JSON body",
        op.method,
        op.path
    );
    for body in bodies {
        let mut errors = Vec::new();
        violations(body, schema, "body", &mut errors);
        assert!(errors.is_empty(), "{} {}: {errors:#?}", op.method, op.path);
    }
}

fn check_response<T: DeserializeOwned>(op: Operation) {
    let document = document();
    let schema = response_schema(operation(&document, op))
        .unwrap_or_else(|| panic!("{} {} documents no response body", op.method, op.path));
    for full in [false, true] {
        let value = instance(schema, full);
        if let Err(e) = serde_json::from_value::<T>(value.clone()) {
            panic!(
                "{} {}: the response type does not read the documented {} answer ({e}): {value:#}",
                op.method,
                op.path,
                if full { "largest" } else { "smallest" }
            );
        }
    }
}

fn check_no_request_body(op: Operation) {
    let document = document();
    assert!(
        request_schema(operation(&document, op)).is_null(),
        "{} {} takes a body",
        op.method,
        op.path
    );
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn every_typed_call_is_in_the_document() {
    let document = document();
    for op in ops::ALL {
        operation(&document, op);
    }
}

#[test]
fn users() {
    let profile = UserProfile {
        family_name: Some("Liddell".into()),
        given_name: Some("Alice".into()),
        middle_name: Some("M".into()),
        nickname: Some("al".into()),
        preferred_username: Some("alice".into()),
        profile: Some("https://example.com/alice".into()),
        website: Some("https://example.com".into()),
        gender: Some("female".into()),
        birthdate: Some("2000-01-01".into()),
        zoneinfo: Some("Europe/London".into()),
        locale: Some("en-GB".into()),
        address: Some(Address {
            formatted: Some("1 High St".into()),
            street_address: Some("1 High St".into()),
            locality: Some("Oxford".into()),
            region: Some("Oxon".into()),
            postal_code: Some("OX1".into()),
            country: Some("GB".into()),
        }),
    };
    let full_user = NewUser::new()
        .username("alice")
        .primary_email("alice@example.com")
        .primary_phone("15550001")
        .password("pw")
        .name("Alice")
        .avatar("https://example.com/a.png")
        .custom_data(json!({ "plan": "pro" }))
        .profile(profile.clone());
    check_request(ops::CREATE_USER, &[json(&full_user), json(&NewUser::new())]);
    check_response::<User>(ops::CREATE_USER);
    check_no_request_body(ops::GET_USER);
    check_response::<User>(ops::GET_USER);

    let full_update = UserUpdate::new()
        .username("alice2")
        .primary_email("a2@example.com")
        .primary_phone("15550002")
        .name("Alice 2")
        .avatar("https://example.com/b.png")
        .custom_data(json!({}))
        .profile(profile.clone());
    check_request(
        ops::UPDATE_USER,
        &[json(&full_update), json(&UserUpdate::new())],
    );
    check_response::<User>(ops::UPDATE_USER);

    check_request(
        ops::UPDATE_USER_CUSTOM_DATA,
        &[bodies::custom_data(&json!({ "a": 1 }))],
    );
    check_response::<Value>(ops::UPDATE_USER_CUSTOM_DATA);
    check_request(
        ops::UPDATE_USER_PROFILE,
        &[
            bodies::profile(&profile),
            bodies::profile(&UserProfile::default()),
        ],
    );
    check_response::<UserProfile>(ops::UPDATE_USER_PROFILE);
    check_request(
        ops::SET_USER_SUSPENDED,
        &[bodies::suspended(true), bodies::suspended(false)],
    );
    check_response::<User>(ops::SET_USER_SUSPENDED);
    check_no_request_body(ops::DELETE_USER);
}

#[test]
fn roles() {
    check_request(
        ops::CREATE_ROLE,
        &[
            json(&NewRole::new("r", "d")),
            json(
                &NewRole::new("r", "d")
                    .machine_to_machine()
                    .scope_ids(["s1"]),
            ),
        ],
    );
    check_response::<Role>(ops::CREATE_ROLE);
    check_response::<Vec<Role>>(ops::LIST_USER_ROLES);
    check_request(
        ops::ASSIGN_USER_ROLES,
        &[
            bodies::role_ids(vec!["r1".into()]),
            bodies::role_ids(vec![]),
        ],
    );
    check_no_request_body(ops::REMOVE_USER_ROLE);
}

#[test]
fn organizations() {
    check_request(
        ops::CREATE_ORGANIZATION,
        &[
            json(&NewOrganization::new("Acme")),
            json(
                &NewOrganization::new("Acme")
                    .description("d")
                    .custom_data(json!({ "tier": 1 })),
            ),
        ],
    );
    check_response::<Organization>(ops::CREATE_ORGANIZATION);
    check_request(
        ops::ADD_ORGANIZATION_USERS,
        &[bodies::user_ids(vec!["u1".into()])],
    );
    check_request(
        ops::CREATE_ORGANIZATION_ROLE,
        &[
            json(&NewOrganizationRole::new("admin")),
            json(
                &NewOrganizationRole::new("admin")
                    .description("d")
                    .organization_scope_ids(["s"])
                    .resource_scope_ids(["r"]),
            ),
        ],
    );
    check_response::<OrganizationRole>(ops::CREATE_ORGANIZATION_ROLE);
    check_request(
        ops::ASSIGN_ORGANIZATION_USER_ROLES,
        &[bodies::organization_role_ids(vec!["r1".into()])],
    );
    check_response::<Vec<OrganizationRole>>(ops::LIST_ORGANIZATION_USER_ROLES);
}

#[test]
fn tokens() {
    check_request(
        ops::CREATE_ONE_TIME_TOKEN,
        &[
            json(&NewOneTimeToken::new("a@example.com")),
            json(
                &NewOneTimeToken::new("a@example.com")
                    .expires_in(60)
                    .context(json!({ "jitOrganizationIds": ["o1"] })),
            ),
        ],
    );
    check_response::<OneTimeToken>(ops::CREATE_ONE_TIME_TOKEN);
    check_request(
        ops::CREATE_PERSONAL_ACCESS_TOKEN,
        &[
            bodies::personal_access_token("ci", None),
            bodies::personal_access_token("ci", Some(1_900_000_000_000)),
        ],
    );
    check_response::<PersonalAccessToken>(ops::CREATE_PERSONAL_ACCESS_TOKEN);
    check_request(
        ops::CREATE_SUBJECT_TOKEN,
        &[
            bodies::subject_token("u1", None),
            bodies::subject_token("u1", Some(&json!({ "ticket": "T-1" }))),
        ],
    );
    check_response::<SubjectToken>(ops::CREATE_SUBJECT_TOKEN);
}

#[test]
fn the_checks_catch_what_they_should() {
    let schema = json!({
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": { "type": "string" },
            "n": { "type": "number", "nullable": true },
            "kind": { "type": "string", "enum": ["a", "b"] }
        }
    });
    let mut errors = Vec::new();
    violations(
        &json!({ "id": "x", "n": null, "kind": "a" }),
        &schema,
        "b",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");
    for bad in [
        json!({}),
        json!({ "id": 1 }),
        json!({ "id": "x", "other": 1 }),
        json!({ "id": "x", "kind": "c" }),
        json!({ "id": null }),
    ] {
        let mut errors = Vec::new();
        violations(&bad, &schema, "b", &mut errors);
        assert!(!errors.is_empty(), "{bad} passed");
    }
    assert_eq!(instance(&schema, false), json!({ "id": "x" }));
    assert_eq!(
        instance(&schema, true),
        json!({ "id": "x", "n": 1, "kind": "a" })
    );
}
