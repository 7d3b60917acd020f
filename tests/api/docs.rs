//! The served OpenAPI document cannot drift from the router: it lists exactly the routes of
//! SPEC.md §4, every one of them is routed, its references resolve, real answers validate
//! against it, and `/docs` works with no network.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, jwt_for, spawn_app, spawn_app_with};

/// Every operation of SPEC.md §4, as a client calls it.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/v1/me"),
    ("delete", "/v1/me"),
    ("patch", "/v1/me"),
    ("post", "/v1/consent"),
    ("get", "/v1/consents"),
    ("delete", "/v1/consents/{consentId}"),
    ("get", "/v1/consent/callback"),
    ("get", "/v1/jobs"),
    ("get", "/v1/jobs/{jobId}"),
    ("post", "/v1/jobs/{jobId}/mfa"),
    ("get", "/v1/events"),
    ("post", "/v1/events/ticket"),
    ("get", "/v1/connections"),
    ("post", "/v1/connections/refresh"),
    ("post", "/v1/connections/{connectionId}/refresh"),
    ("get", "/v1/connections/{connectionId}"),
    ("delete", "/v1/connections/{connectionId}"),
    ("post", "/v1/connections/{connectionId}/purge"),
    ("get", "/v1/accounts"),
    ("get", "/v1/accounts/{accountId}"),
    ("get", "/v1/transactions"),
    ("get", "/v1/transactions/sync"),
    ("get", "/v1/transactions/{transactionId}"),
    ("get", "/v1/institutions"),
    ("post", "/webhooks/basiq"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn spec(app: &TestApp) -> Value {
    let r = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    r.json().await.unwrap()
}

/// `(method, path)` of every operation in the document.
fn documented(spec: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().unwrap() {
            if HTTP_METHODS.contains(&method.as_str()) {
                ops.push((method.clone(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_spec_is_openapi_3_1_and_documents_exactly_the_routes_of_the_product_spec() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let version = spec["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        spec["info"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("problem+json"))
    );

    let documented = documented(&spec);
    for (method, path) in OPERATIONS {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(documented.len(), OPERATIONS.len(), "{documented:?}");

    let mut ids = BTreeSet::new();
    for (method, path) in &documented {
        let op = &spec["paths"][path][method];
        let id = op["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} is not unique");
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains('\n'),
            "{method} {path} needs a one-line summary: {summary:?}"
        );
    }
}

#[tokio::test]
async fn bearer_auth_is_documented_on_v1_routes_but_the_consent_callback() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let scheme = &spec["components"]["securitySchemes"]["appJwt"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    for (method, path) in documented(&spec) {
        let op = &spec["paths"][&path][&method];
        // The event stream also opens with a ticket instead (for browsers' EventSource).
        let secured = op["security"] == json!([{"appJwt": []}])
            || (path == "/v1/events" && op["security"] == json!([{"appJwt": []}, {}]));
        let expected = path.starts_with("/v1/") && path != "/v1/consent/callback";
        assert_eq!(secured, expected, "{method} {path}: {}", op["security"]);
        if expected {
            assert!(op["responses"]["401"].is_object(), "{method} {path}");
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed_by_the_server() {
    // With a webhook secret the webhook route answers as documented rather than as unknown.
    let app = spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await;
    let spec = spec(&app).await;
    for (method, path) in documented(&spec) {
        let url = path
            .split('/')
            .map(|s| if s.starts_with('{') { "probe-1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        assert!(
            !url.contains('{'),
            "an undocumented path parameter in {path}"
        );
        let r = app
            .http
            .request(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                format!("{}{url}", app.base),
            )
            .bearer_auth(jwt_for("router-probe"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status();
        // A stream is not read to its end.
        let streaming = r
            .headers()
            .get("content-type")
            .is_some_and(|t| t == "text/event-stream");
        let body: Value = match streaming {
            true => Value::Null,
            false => r.json().await.unwrap_or(Value::Null),
        };
        assert!(
            !matches!(
                body["code"].as_str(),
                Some("route_not_found" | "method_not_allowed")
            ),
            "{method} {path} is documented but not routed: {status} {body}"
        );
        assert!(
            spec["paths"][&path][&method]["responses"][status.as_str()].is_object(),
            "{method} {url} answered an undocumented {status}: {body}"
        );
    }
}

/// Follows a local JSON pointer (`#/a/b`) in `doc`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_spec_resolves() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let mut refs = BTreeSet::new();
    collect_refs(&spec, &mut refs);
    for name in ["Problem", "JobView", "AccountView", "TransactionPage", "Me"] {
        assert!(
            refs.contains(&format!("#/components/schemas/{name}")),
            "{name} is never referenced: {refs:?}"
        );
    }
    for r in &refs {
        assert!(r.starts_with("#/components/"), "non-local reference {r}");
        assert!(resolve(&spec, r).is_some(), "{r} does not resolve");
    }
    // Every error answer is problem+json with the Problem schema (but the callback's page).
    for (method, path) in documented(&spec) {
        for (status, response) in spec["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap()
        {
            let response = match response["$ref"].as_str() {
                Some(r) => resolve(&spec, r).unwrap(),
                None => response,
            };
            let is_error = status.starts_with('4') || status.starts_with('5');
            if !is_error || (path == "/v1/consent/callback" && status == "400") {
                continue;
            }
            if path == "/readyz" {
                continue;
            }
            assert_eq!(
                response["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
    }
}

/// `src`/`href` attribute values in an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}

fn is_external(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("//") || (lower.contains("://") && !lower.starts_with("http://127.0.0.1"))
}

#[tokio::test]
async fn the_docs_page_and_all_its_assets_are_served_by_the_binary() {
    let app = spawn_app().await;
    let browser = reqwest::Client::new();
    let r = browser
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page_url = r.url().clone();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    let assets = links(&html);
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{html}");
    assert!(assets.iter().any(|a| a.ends_with(".css")), "{html}");
    for asset in &assets {
        assert!(!is_external(asset), "/docs links to {asset}");
        let url = page_url.join(asset).unwrap();
        let r = browser.get(url.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let body = r.text().await.unwrap_or_default();
        // The initializer is the only asset that is ours to configure: it loads our spec and
        // nothing from elsewhere (the bundles' own text mentions URLs in licences and links).
        if asset.contains("initializer") {
            assert!(body.contains("/openapi.json"), "{body}");
            assert!(body.contains("\"validatorUrl\": \"none\""), "{body}");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{body}"
            );
        }
    }
    assert!(assets.iter().any(|a| a.contains("initializer")), "{html}");
}

/// A validator for the body `method path` answers with `status`, with every object schema
/// closed so that an undocumented field fails too.
fn response_validator(
    spec: &Value,
    method: &str,
    path: &str,
    status: u16,
) -> jsonschema::Validator {
    let mut response = &spec["paths"][path][method]["responses"][status.to_string()];
    if let Some(r) = response["$ref"].as_str() {
        response = resolve(spec, r).unwrap();
    }
    let content = response["content"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} {status} documents no body"));
    let (_, media) = content.iter().next().unwrap();
    let mut root = media["schema"].clone();
    root["components"] = spec["components"].clone();
    merge_all_of(&mut root, &spec["components"]);
    close_objects(&mut root);
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema of {method} {path} {status} does not compile: {e}"))
}

/// An `allOf` of objects (what a flattened struct documents as) as the one object it means,
/// so that closing each object below does not refuse the others' properties.
fn merge_all_of(value: &mut Value, components: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.remove("allOf") {
                let mut properties = serde_json::Map::new();
                let mut required = Vec::new();
                for part in parts {
                    let part = match part["$ref"].as_str() {
                        Some(r) => resolve(&json!({"components": components}), r)
                            .unwrap()
                            .clone(),
                        None => part,
                    };
                    if let Some(p) = part["properties"].as_object() {
                        properties.extend(p.clone());
                    }
                    if let Some(r) = part["required"].as_array() {
                        required.extend(r.iter().cloned());
                    }
                }
                map.insert("type".into(), json!("object"));
                map.insert("properties".into(), Value::Object(properties));
                map.insert("required".into(), Value::Array(required));
            }
            map.values_mut().for_each(|v| merge_all_of(v, components));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| merge_all_of(v, components)),
        _ => {}
    }
}

fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Every property the schema documents is in the body (`null` where Basiq had nothing), so a
/// field dropped or renamed on the way fails here as surely as an extra one fails the schema.
fn assert_every_documented_field_present(spec: &Value, schema: &Value, body: &Value, at: &str) {
    let mut schema = schema.clone();
    merge_all_of(&mut schema, &spec["components"]);
    if let Some(r) = schema["$ref"].as_str() {
        let target = resolve(spec, r).unwrap();
        return assert_every_documented_field_present(spec, target, body, at);
    }
    if body.is_null() {
        return;
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        for choice in choices.iter().filter(|c| c["type"] != "null") {
            assert_every_documented_field_present(spec, choice, body, at);
        }
        return;
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), body.as_object()) {
        for (name, property) in properties {
            let value = object
                .get(name)
                .unwrap_or_else(|| panic!("{at}.{name} is documented but not in the answer"));
            assert_every_documented_field_present(spec, property, value, &format!("{at}.{name}"));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), body.as_array()) {
        for (i, item) in array.iter().enumerate() {
            assert_every_documented_field_present(spec, items, item, &format!("{at}[{i}]"));
        }
    }
}

fn assert_documented(spec: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let mut response = &spec["paths"][path][method]["responses"][status.to_string()];
    if let Some(r) = response["$ref"].as_str() {
        response = resolve(spec, r).unwrap();
    }
    // Our answers write every field; a problem leaves out the ones it has no use for.
    if let Some((_, media)) = response["content"]
        .as_object()
        .and_then(|c| c.iter().next())
        .filter(|_| status < 400)
    {
        assert_every_documented_field_present(spec, &media["schema"], body, path);
    }
    let validator = response_validator(spec, method, path, status);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its documented schema:\n{}\nbody: {body:#}",
        errors.join("\n")
    );
}

#[tokio::test]
async fn real_answers_of_a_journey_validate_against_the_documented_schemas() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let user = "docs-journey";

    let a = app.get("/v1/me", user).await;
    assert_eq!(a.status, 200);
    assert_documented(&spec, "get", "/v1/me", 200, &a.body);

    let a = app
        .post(
            "/v1/consent",
            user,
            json!({"returnTo": crate::helpers::RETURN_TO}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_documented(&spec, "post", "/v1/consent", 200, &a.body);

    let job_ids = app.connect_bank(user, "Wentworth-Smith", "whislter").await;
    for (path, doc_path) in [
        ("/v1/me".to_owned(), "/v1/me"),
        ("/v1/accounts".to_owned(), "/v1/accounts"),
        ("/v1/transactions?limit=5".to_owned(), "/v1/transactions"),
        (
            "/v1/transactions/sync?limit=500".to_owned(),
            "/v1/transactions/sync",
        ),
        (format!("/v1/jobs/{}", job_ids[0]), "/v1/jobs/{jobId}"),
        ("/v1/jobs".to_owned(), "/v1/jobs"),
        ("/v1/connections".to_owned(), "/v1/connections"),
        ("/v1/consents".to_owned(), "/v1/consents"),
        ("/v1/institutions".to_owned(), "/v1/institutions"),
    ] {
        let a = app.get(&path, user).await;
        assert_eq!(a.status, 200, "{path}: {:?}", a.body);
        assert_documented(&spec, "get", doc_path, 200, &a.body);
        if doc_path == "/v1/transactions" {
            assert!(a.body["nextCursor"].is_string(), "the page is not the last");
        }
        if doc_path == "/v1/transactions/sync" {
            assert_eq!(a.body["added"].as_array().unwrap().len(), 500);
        }
    }

    let accounts = app.get("/v1/accounts", user).await.body;
    for account in accounts["data"].as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        let a = app.get(&format!("/v1/accounts/{id}"), user).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert_documented(&spec, "get", "/v1/accounts/{accountId}", 200, &a.body);
    }

    let page = app.get("/v1/transactions?limit=500", user).await.body;
    assert_documented(&spec, "get", "/v1/transactions", 200, &page);
    let transaction = page["data"][0]["id"].as_str().unwrap();
    let a = app
        .get(&format!("/v1/transactions/{transaction}"), user)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.body, page["data"][0],
        "one transaction is as it is in the list"
    );
    assert_documented(
        &spec,
        "get",
        "/v1/transactions/{transactionId}",
        200,
        &a.body,
    );

    let connection = app.get("/v1/connections", user).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app
        .get(&format!("/v1/connections/{connection}"), user)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_documented(&spec, "get", "/v1/connections/{connectionId}", 200, &a.body);
    let a = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            user,
            json!({}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_documented(
        &spec,
        "post",
        "/v1/connections/{connectionId}/refresh",
        200,
        &a.body,
    );

    let a = app.get("/v1/transactions?limit=0", user).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.problem_field(), Some("limit"));
    assert_documented(&spec, "get", "/v1/transactions", 400, &a.body);

    let a = app.get_unauthenticated("/v1/accounts").await;
    assert_eq!(a.status, 401);
    assert_documented(&spec, "get", "/v1/accounts", 401, &a.body);

    for path in ["/healthz", "/readyz"] {
        let a = app.get_unauthenticated(path).await;
        assert_documented(&spec, "get", path, a.status.as_u16(), &a.body);
    }
}
