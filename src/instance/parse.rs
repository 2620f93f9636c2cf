//! `instance_state` JSON to the [`model`](super::model): token type names first, everywhere
//! they appear (so that each unknown one is named, not only the first), then the structure
//! (unknown and mistyped keys, by path).

use serde_json::Value;

use super::{InstanceConfig, Kind, TokenType, is_secret_path};

/// Token type names, for messages.
const TOKEN_TYPES: &str = "USERNAME, OPENAM, X509, OPENIDCONNECT, SAML2, SAML1";

/// Reads `state` as an instance of `kind`. Every problem goes to `problems`; `None` when the
/// structure cannot be read at all. Entries with an unknown token type are dropped before
/// the structure is read, so the rest of the instance is still checked.
pub fn parse(kind: Kind, state: &Value, problems: &mut Vec<String>) -> Option<InstanceConfig> {
    let Value::Object(_) = state else {
        problems.push("instance_state must be a JSON object".into());
        return None;
    };
    let mut clean = state.clone();
    // REST translates with these; a SOAP Validate returns a new token with them.
    keep_known(
        &mut clean,
        "supported-token-transforms",
        problems,
        |i, t, p| {
            ["inputTokenType", "outputTokenType"].iter().all(|k| {
                t.get(k)
                    .is_none_or(|v| known(format!("supported-token-transforms[{i}].{k}"), v, p))
            })
        },
    );
    match kind {
        Kind::Rest => {}
        Kind::Soap => {
            keep_known(&mut clean, "issued-token-types", problems, |i, v, p| {
                known(format!("issued-token-types[{i}]"), v, p)
            });
            keep_known(
                &mut clean,
                "security-policy-validated-token-config",
                problems,
                |i, t, p| {
                    t.get("validatedTokenType").is_none_or(|v| {
                        known(
                            format!(
                                "security-policy-validated-token-config[{i}].validatedTokenType"
                            ),
                            v,
                            p,
                        )
                    })
                },
            );
        }
    }
    let config = match kind {
        Kind::Rest => serde_path_to_error::deserialize(clean).map(InstanceConfig::Rest),
        Kind::Soap => serde_path_to_error::deserialize(clean).map(InstanceConfig::Soap),
    };
    match config {
        Ok(c) => Some(c),
        Err(e) => {
            let path = e.path().to_string();
            let secret = is_secret_path(&path);
            problems.push(if path == "." {
                e.into_inner().to_string()
            } else if secret {
                // serde's message may quote the value; a secret's value is never echoed.
                format!("{path}: must be a string")
            } else {
                format!("{path}: {}", e.into_inner())
            });
            None
        }
    }
}

/// Whether `v` names a built-in token type; if not, says so at `path`.
fn known(path: String, v: &Value, problems: &mut Vec<String>) -> bool {
    if serde_json::from_value::<TokenType>(v.clone()).is_ok() {
        true
    } else {
        problems.push(format!(
            "{path}: unknown token type {v} (expected one of {TOKEN_TYPES})"
        ));
        false
    }
}

/// Keeps the entries of the list at `key` that `ok` (given their index) accepts.
fn keep_known(
    state: &mut Value,
    key: &str,
    problems: &mut Vec<String>,
    mut ok: impl FnMut(usize, &Value, &mut Vec<String>) -> bool,
) {
    if let Some(Value::Array(list)) = state.get_mut(key) {
        let mut i = 0;
        list.retain(|t| {
            let keep = ok(i, t, problems);
            i += 1;
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn soap(state: Value) -> (Option<InstanceConfig>, Vec<String>) {
        let mut problems = Vec::new();
        (parse(Kind::Soap, &state, &mut problems), problems)
    }

    #[test]
    fn every_unknown_token_type_is_named_and_the_rest_still_read() {
        let (c, p) = soap(json!({
            "deployment-config": {"deployment-url-element": "x"},
            "issued-token-types": ["SAML2", "SAML3", "JWT"],
            "security-policy-validated-token-config": [
                {"validatedTokenType": "KERBEROS", "invalidateInterimOpenAMSession": true}]
        }));
        assert_eq!(
            p,
            [
                "issued-token-types[1]: unknown token type \"SAML3\" (expected one of USERNAME, OPENAM, X509, OPENIDCONNECT, SAML2, SAML1)",
                "issued-token-types[2]: unknown token type \"JWT\" (expected one of USERNAME, OPENAM, X509, OPENIDCONNECT, SAML2, SAML1)",
                "security-policy-validated-token-config[0].validatedTokenType: unknown token type \"KERBEROS\" (expected one of USERNAME, OPENAM, X509, OPENIDCONNECT, SAML2, SAML1)",
            ]
        );
        let c = c.unwrap();
        assert_eq!(c.soap().unwrap().issued_token_types, [TokenType::Saml2]);
    }

    #[test]
    fn structure_problems_name_their_path_but_never_a_secret() {
        let (c, p) = soap(json!([]));
        assert!(c.is_none());
        assert_eq!(p, ["instance_state must be a JSON object"]);
        let (c, p) = soap(json!({
            "deployment-config": {"deployment-url-element": "x"},
            "issued-token-types": ["SAML2"],
            "oidc-trusted-issuers": [{"issuer": "i", "audience": "a", "client-secret": 12345}]
        }));
        assert!(c.is_none());
        assert_eq!(
            p,
            ["oidc-trusted-issuers[0].client-secret: must be a string"]
        );
        let (_, p) = soap(json!({
            "deployment-config": {"deployment-url-element": "x"},
            "issued-token-types": ["SAML2"],
            "persist-issued-tokens-in-cts": "maybe"
        }));
        assert_eq!(
            p,
            ["persist-issued-tokens-in-cts: expected \"true\" or \"false\", found \"maybe\""]
        );
        let mut problems = Vec::new();
        let rest = json!({"deployment-config": {"deployment-url-element": "x"},
            "supported-token-transforms": [{"inputTokenType": "SAML3", "outputTokenType": "SAML2",
                "invalidateInterimOpenAMSession": true}]});
        let c = parse(Kind::Rest, &rest, &mut problems).unwrap();
        assert!(c.rest().unwrap().supported_token_transforms.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("supported-token-transforms[0].inputTokenType: unknown"));
    }
}
