//! `[adfs]`: which SOAP instance answers AD FS's fixed paths (`/adfs/services/trust/...`,
//! `/FederationMetadata/2007-06/FederationMetadata.xml`), so that clients written for AD FS
//! (MSAL, ADAL, WCF) find `sts` where they look. Absent: no AD FS paths.

use serde::Deserialize;

use super::ConfigError;

/// The instance behind the AD FS paths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdfsConfig {
    /// The instance's `deployment-url-element`.
    pub instance: String,
    /// Its realm (`/`, `/sub`).
    #[serde(default = "root_realm")]
    pub realm: String,
}

fn root_realm() -> String {
    "/".to_owned()
}

impl AdfsConfig {
    /// The instance's realm-qualified subpath, as `/sts/{subpath}` names it.
    pub fn subpath(&self) -> String {
        let joined = format!(
            "{}/{}",
            self.realm.trim_matches('/'),
            self.instance.trim_matches('/')
        );
        joined.trim_matches('/').to_owned()
    }

    /// Refuses names that cannot be an instance or a realm. Whether the instance exists is
    /// asked per request: instances are published and removed while the server runs.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !name_ok(&self.instance) {
            return Err(ConfigError::Invalid(format!(
                "[adfs] instance `{}` must be an instance's url element (letters, digits, `-`, `_`, `.`)",
                self.instance
            )));
        }
        if !self.realm.starts_with('/')
            || self
                .realm
                .split('/')
                .skip(1)
                .any(|seg| !seg.is_empty() && !name_ok(seg))
        {
            return Err(ConfigError::Invalid(format!(
                "[adfs] realm `{}` must be `/` or a realm path such as `/sub`",
                self.realm
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AdfsConfig, String> {
        let c: AdfsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    #[test]
    fn subpaths_and_refusals() {
        let c = parse("instance = \"soap-x\"").unwrap();
        assert_eq!((c.realm.as_str(), c.subpath()), ("/", "soap-x".to_owned()));
        let c = parse("instance = \"soap-x\"\nrealm = \"/sub\"").unwrap();
        assert_eq!(c.subpath(), "sub/soap-x");
        let err = parse("instance = \"x\"\nrealms = \"/\"").unwrap_err();
        assert!(err.contains("realms"), "{err}");
        let err = parse("realm = \"/\"").unwrap_err();
        assert!(err.contains("instance"), "{err}");
        assert!(
            parse("instance = \"a/b\"")
                .unwrap_err()
                .contains("url element")
        );
        assert!(
            parse("instance = \"x\"\nrealm = \"sub\"")
                .unwrap_err()
                .contains("realm")
        );
    }
}
