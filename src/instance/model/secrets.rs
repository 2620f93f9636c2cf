//! Secrets in configuration JSON: stored, never returned by the publish API nor logged, and
//! kept across an update built from a redacted read.

/// Keys whose values are secrets: stored, never returned by the publish API nor logged.
pub const SECRET_KEYS: &[&str] = &[
    "saml2-keystore-password",
    "saml2-signature-key-password",
    "oidc-keystore-password",
    "oidc-signature-key-password",
    "oidc-client-secret",
    "soap-keystore-password",
    "soap-signature-key-password",
    "soap-encryption-key-password",
    "client-secret",
];

/// Removes every secret from configuration JSON (at any depth).
pub fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !SECRET_KEYS.contains(&k.as_str()));
            m.values_mut().for_each(redact);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Copies into `new` each secret that `old` has and `new` omits at the same place, so that
/// an update built from a (redacted) read keeps the stored secrets. A secret sent as `null`
/// is removed.
pub fn keep_secrets(new: &mut serde_json::Value, old: &serde_json::Value) {
    let (serde_json::Value::Object(n), serde_json::Value::Object(o)) = (new, old) else {
        return;
    };
    for (k, ov) in o {
        if SECRET_KEYS.contains(&k.as_str()) {
            if !n.contains_key(k) {
                n.insert(k.clone(), ov.clone());
            }
        } else if let Some(nv) = n.get_mut(k) {
            keep_secrets(nv, ov);
        }
    }
}

/// Whether a serde error path (`a.b.c`) ends at a secret, whose value must not be echoed.
pub fn is_secret_path(path: &str) -> bool {
    SECRET_KEYS
        .iter()
        .any(|k| path.ends_with(&format!(".{k}")) || path == *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_kept_across_updates() {
        let old = serde_json::json!({
            "saml2-config": {"issuer-name": "a", "saml2-keystore-password": "k1"},
            "oidc-id-token-config": {"oidc-client-secret": "c1", "oidc-issuer": "i"}
        });
        let mut shown = old.clone();
        redact(&mut shown);
        assert!(!shown.to_string().contains("k1") && !shown.to_string().contains("c1"));
        assert_eq!(shown["saml2-config"]["issuer-name"], "a");
        // An update built from the redacted read keeps both secrets; an explicit null drops one,
        // a new value replaces one.
        let mut new = shown.clone();
        new["oidc-id-token-config"]["oidc-client-secret"] = serde_json::Value::Null;
        new["saml2-config"]["saml2-keystore-password"] = "k2".into();
        keep_secrets(&mut new, &old);
        assert_eq!(new["saml2-config"]["saml2-keystore-password"], "k2");
        assert!(new["oidc-id-token-config"]["oidc-client-secret"].is_null());
        let mut again = shown;
        keep_secrets(&mut again, &old);
        assert_eq!(again, old);
    }

    #[test]
    fn secret_paths_are_recognised_at_any_depth_but_not_by_suffix() {
        assert!(is_secret_path("client-secret"));
        assert!(is_secret_path("oidc-trusted-issuers[0].client-secret"));
        assert!(is_secret_path("saml2-config.saml2-keystore-password"));
        assert!(!is_secret_path("saml2-config.issuer-name"));
        assert!(!is_secret_path("x.not-client-secret"));
    }
}
