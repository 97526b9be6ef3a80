//! The rules every JSON schema of the project keeps (`schema/*.json`):
//! each object schema is closed (`additionalProperties: false`), requires
//! every property the tool always writes, and documents each property. A
//! field added in code but not in a schema then fails the schema's own
//! validation test.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// Every object schema in the document, with its JSON pointer.
fn object_schemas<'a>(at: String, node: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match node {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("object")) {
                out.push((at.clone(), node));
            }
            for (key, child) in map {
                object_schemas(format!("{at}/{key}"), child, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                object_schemas(format!("{at}/{i}"), child, out);
            }
        }
        _ => {}
    }
}

/// Panics naming the first object schema that breaks the rules.
/// `optional(pointer, property)`: the properties that may be absent.
pub fn assert_closed_required_documented(schema: &Value, optional: impl Fn(&str, &str) -> bool) {
    let mut objects = Vec::new();
    object_schemas(String::new(), schema, &mut objects);
    assert!(
        objects.len() > 3,
        "found only {} object schemas",
        objects.len()
    );
    for (at, object) in objects {
        let properties = match object["properties"].as_object() {
            Some(p) => p,
            // A map (`additionalProperties` is a schema): its own rules.
            None if object["additionalProperties"].is_object() => continue,
            None => panic!("{at}: no properties"),
        };
        assert_eq!(
            object["additionalProperties"],
            json!(false),
            "{at}: additionalProperties must be false"
        );
        let required: BTreeSet<&str> = object["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, property) in properties {
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{at}/properties/{name}: no description"
            );
            assert_eq!(
                required.contains(name.as_str()),
                !optional(&at, name),
                "{at}/properties/{name}: required is wrong"
            );
        }
        for name in &required {
            assert!(
                properties.contains_key(*name),
                "{at}: required {name} is not a property"
            );
        }
    }
}
