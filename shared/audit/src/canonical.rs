//! The canonical encoding an entry is hashed in: JSON with object keys in byte order at every
//! depth, no insignificant whitespace, strings escaped as `serde_json` escapes them. Independent of
//! the order a map was built in or whether `serde_json` preserves insertion order, so an entry
//! read back from the table hashes to what it hashed to when written.

use serde_json::Value;

pub fn encode(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth_and_whitespace_is_dropped() {
        let a = json!({ "b": 1, "a": { "z": [1, { "y": "x", "c": null }], "d": "é\n" } });
        assert_eq!(encode(&a), r#"{"a":{"d":"é\n","z":[1,{"c":null,"y":"x"}]},"b":1}"#);
        let reparsed: Value = serde_json::from_str(&encode(&a)).unwrap();
        assert_eq!(encode(&reparsed), encode(&a));
    }
}
