//! Validates responses against the response schemas of Basiq's OpenAPI files
//! (crates/basiq-sim/tests/fixtures/basiq-openapi), translated from OpenAPI 3.0 to JSON Schema (draft 4).

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

fn document(file: &str) -> &'static Value {
    static CORE: OnceLock<Value> = OnceLock::new();
    static DATA: OnceLock<Value> = OnceLock::new();
    static WEBHOOKS: OnceLock<Value> = OnceLock::new();
    let (cell, text) = match file {
        "core" => (&CORE, include_str!("../fixtures/basiq-openapi/core.json")),
        "data" => (&DATA, include_str!("../fixtures/basiq-openapi/data.json")),
        "webhooks" => (
            &WEBHOOKS,
            include_str!("../fixtures/basiq-openapi/webhooks.json"),
        ),
        other => panic!("no OpenAPI file {other}"),
    };
    cell.get_or_init(|| serde_json::from_str(text).expect("OpenAPI file parses"))
}

/// OpenAPI 3.0 schema → JSON Schema:
/// - `nullable: true` becomes "this, or null";
/// - `oneOf` becomes `anyOf`: Basiq's `GET /jobs/{id}` schema offers three job variants whose
///   properties are all optional, so every job matches all three and `oneOf` could never pass;
/// - an `enum` on an object schema (`type: object` or `properties`) is dropped: `account.class` is an object
///   `{type, product}` carrying the enum of its `type` values, which no object can match;
/// - annotations (`example`, `discriminator`, `x-…`) are dropped.
pub fn translate(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "nullable" | "example" | "examples" | "discriminator" | "xml" | "externalDocs"
            | "readOnly" | "writeOnly" | "deprecated" => {}
            k if k.starts_with("x-") => {}
            "properties" | "patternProperties" => {
                let props = value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), translate(v))).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(key.clone(), translate(value));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let list = value
                    .as_array()
                    .map(|l| l.iter().map(translate).collect())
                    .unwrap_or_default();
                let key = if key == "oneOf" {
                    "anyOf"
                } else {
                    key.as_str()
                };
                out.insert(key.to_owned(), Value::Array(list));
            }
            "enum"
                if map.get("type") == Some(&json!("object")) || map.contains_key("properties") => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    let schema = Value::Object(out);
    if map.get("nullable") == Some(&Value::Bool(true)) {
        json!({ "anyOf": [schema, { "type": "null" }] })
    } else {
        schema
    }
}

/// Makes every property called `name` also accept null, wherever it appears.
pub fn allow_null_property(schema: &mut Value, name: &str) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties")
                && let Some(prop) = props.get_mut(name)
            {
                *prop = json!({ "anyOf": [prop.clone(), { "type": "null" }] });
            }
            for v in map.values_mut() {
                allow_null_property(v, name);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| allow_null_property(v, name)),
        _ => {}
    }
}

/// The translated response schema of `method path` answering `status`, with the file's
/// components beside it so `#/components/...` references resolve.
pub fn response_schema(file: &str, path: &str, method: &str, status: u16) -> Value {
    let doc = document(file);
    let schema =
        doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
            ["schema"]
            .clone();
    assert!(
        schema.is_object(),
        "{file}.json has no JSON schema for {method} {path} {status}"
    );
    let mut root = translate(&schema);
    root["components"] = translate_components(&doc["components"]);
    root
}

fn translate_components(components: &Value) -> Value {
    let schemas = components["schemas"]
        .as_object()
        .map(|s| s.iter().map(|(k, v)| (k.clone(), translate(v))).collect())
        .unwrap_or_default();
    json!({ "schemas": Value::Object(schemas) })
}

pub fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("schema for {what} does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not conform to Basiq's schema:\n{}\ninstance: {}",
        errors.join("\n"),
        serde_json::to_string_pretty(instance).unwrap()
    );
}

/// Validates `instance` against Basiq's schema for `method path` answering `status`.
pub fn assert_conforms(file: &str, path: &str, method: &str, status: u16, instance: &Value) {
    let schema = response_schema(file, path, method, status);
    assert_valid(&schema, instance, &format!("{method} {path} {status}"));
}

/// Forbids, in every object under each property called `name`, the properties Basiq's schema
/// does not name: a field renamed or misspelt there fails validation instead of passing unseen.
pub fn close_property(schema: &mut Value, name: &str) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties")
                && let Some(prop) = props.get_mut(name)
            {
                close_objects(prop);
            }
            for v in map.values_mut() {
                close_property(v, name);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| close_property(v, name)),
        _ => {}
    }
}

fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(list) => list.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Asserts that `value` has every field of `shape`, each of its type. A shape is a type name
/// (`"string"`, `"integer"`, `"boolean"`, `"array"`, `"null"`), an object of shapes (other
/// fields are allowed), or `[shape]`: a non-empty array whose every item has that shape.
/// Stricter than Basiq's schemas, which leave most fields optional: a field dropped, renamed
/// or sent with another type fails here.
pub fn assert_shape(value: &Value, shape: &Value, path: &str) {
    let fits = match shape {
        Value::String(kind) => match kind.as_str() {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "null" => value.is_null(),
            other => panic!("no shape {other}"),
        },
        Value::Object(fields) => {
            for (name, field) in fields {
                let Some(inner) = value.get(name) else {
                    panic!("{path}.{name} is missing in {value}");
                };
                assert_shape(inner, field, &format!("{path}.{name}"));
            }
            value.is_object()
        }
        Value::Array(item) => {
            let items = value.as_array().filter(|items| !items.is_empty());
            let Some(items) = items else {
                panic!("{path} is not a non-empty array: {value}");
            };
            for (i, v) in items.iter().enumerate() {
                assert_shape(v, &item[0], &format!("{path}[{i}]"));
            }
            true
        }
        other => panic!("no shape {other}"),
    };
    assert!(fits, "{path} should be {shape}, is {value}");
}
