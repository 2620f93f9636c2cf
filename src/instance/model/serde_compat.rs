//! The wire forms OpenAM writes: booleans and numbers as strings, one value or a list.

/// OpenAM writes booleans as `"true"`/`"false"`; accept those and JSON booleans.
pub(crate) mod str_bool {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *v { "true" } else { "false" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(b),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            serde_json::Value::Null => Ok(false),
            other => Err(D::Error::custom(format!(
                "expected \"true\" or \"false\", found {other}"
            ))),
        }
    }

    /// Like [`deserialize`], but null means true (for settings that default to true).
    pub fn deserialize_or_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(true),
            other => deserialize(other).map_err(D::Error::custom),
        }
    }
}

/// A string or a list of strings.
pub(crate) mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
    }
}

/// OpenAM writes numbers as strings; accept those and JSON numbers.
pub(crate) mod str_u64 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| D::Error::custom("expected a non-negative integer")),
            serde_json::Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| D::Error::custom(format!("expected a number, found \"{s}\""))),
            other => Err(D::Error::custom(format!(
                "expected a number, found {other}"
            ))),
        }
    }
}

/// Serde defaults shared by several blocks.
pub(crate) fn yes() -> bool {
    true
}

/// For `skip_serializing_if`: a zero that is the key's default is left out.
pub(crate) fn is_zero(v: &u64) -> bool {
    *v == 0
}

pub(crate) fn ten_minutes() -> u64 {
    600
}

pub(crate) fn root_realm() -> String {
    "/".to_owned()
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, serde::Serialize)]
    struct T {
        #[serde(with = "super::str_bool", default)]
        b: bool,
        #[serde(with = "super::str_u64", default)]
        n: u64,
        #[serde(with = "super::one_or_many", default)]
        l: Vec<String>,
    }

    #[test]
    fn both_wire_forms_are_read_and_openam_forms_written() {
        let t: T = serde_json::from_str(r#"{"b": "TRUE", "n": " 42 ", "l": "a"}"#).unwrap();
        assert!(t.b);
        assert_eq!((t.n, t.l.as_slice()), (42, ["a".to_owned()].as_slice()));
        let t: T = serde_json::from_str(r#"{"b": false, "n": 7, "l": ["a", "b"]}"#).unwrap();
        assert_eq!((t.b, t.n, t.l.len()), (false, 7, 2));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"b": "false", "n": "7", "l": ["a", "b"]})
        );
        let t: T = serde_json::from_str(r#"{"b": null}"#).unwrap();
        assert!(!t.b);
        for bad in [
            r#"{"b": "yes"}"#,
            r#"{"n": -1}"#,
            r#"{"n": "x"}"#,
            r#"{"l": 3}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
