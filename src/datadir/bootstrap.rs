//! The first start: keys, the demo user, the administrator and the demo instance. This is
//! the one place that writes users, keys and instances together, so it sits above all three.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{ADMIN_USER, DEFAULT_EC_KEY, DEFAULT_KEY, DEMO_INSTANCE, DEMO_USER, DataDirError, io};
use crate::crypto::KeyKind;
use crate::identity::{FileUserStore, User, hash_password};
use crate::keyring::create_pair;
use crate::secret::Secret;

/// What the first start created, for the banner.
#[derive(Debug, Default)]
pub struct Bootstrap {
    pub created_keys: bool,
    pub demo_password: Option<Secret<String>>,
    /// Set when `amadmin` was created with a generated password.
    pub admin_password: Option<Secret<String>>,
    pub created_instance: bool,
    /// The users created (`demo`, `amadmin`), for the audit trail.
    pub created_users: Vec<&'static str>,
}

fn random_password() -> Result<String, DataDirError> {
    let mut b = [0u8; 15];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(crate::crypto::encoding::b64url_encode(&b))
}

/// The demo instance: UsernameToken in, signed SAML 2.0 bearer assertions out.
pub fn demo_instance() -> serde_json::Value {
    serde_json::json!({
        "deployment-config": {
            "deployment-url-element": DEMO_INSTANCE,
            "deployment-realm": "/",
            "deployment-auth-target-mappings": {},
            "deployment-offloaded-two-way-tls-header-key": null,
            "deployment-tls-offload-engine-hosts": [],
            "deployment-service-name": "{http://docs.oasis-open.org/ws-sx/ws-trust/200512/}sts_service",
            "deployment-service-port": "{http://docs.oasis-open.org/ws-sx/ws-trust/200512/}sts_service_port",
            "deployment-wsdl-location": "sts_ut_transport.wsdl",
            "deployment-custom-wsdl-location": null,
            "deployment-custom-service-port": null,
            "deployment-custom-service-name": null,
            "deployment-am-url": null
        },
        "saml2-config": {
            "issuer-name": "sts-demo-idp",
            "saml2-name-id-format": crate::xml::ns::NAMEID_UNSPECIFIED,
            "saml2-token-lifetime-seconds": "600",
            "saml2-sign-assertion": "true",
            "saml2-encrypt-assertion": "false",
            "saml2-encrypt-attributes": "false",
            "saml2-encrypt-nameid": "false",
            "saml2-encryption-algorithm-strength": "0",
            "saml2-attribute-map": {"email": "mail", "cn": "cn", "groups": "isMemberOf"},
            "saml2-sp-entity-id": "urn:sts:demo-sp",
            "saml2-sp-acs-url": null,
            "saml2-signature-key-alias": DEFAULT_KEY
        },
        "persist-issued-tokens-in-cts": "false",
        "security-policy-validated-token-config": [
            {"validatedTokenType": "USERNAME", "invalidateInterimOpenAMSession": true}
        ],
        "soap-keystore-config": null,
        "issued-token-types": ["SAML2"],
        "delegation-relationship-supported": "false",
        "soap-delegation-config": null
    })
}

/// Creates what an empty data directory lacks: keys (certificates valid from `now`), the demo user, the administrator
/// `amadmin` (whenever the top-level realm has no administrator), the demo instance.
/// Passwords come from the arguments (`STS_DEMO_PASSWORD`, `STS_ADMIN_PASSWORD`), else they
/// are generated and returned to be shown once. There is no fixed default password.
#[cfg(any(test, feature = "test-util"))]
pub fn bootstrap(
    dir: &Path,
    demo_password: Option<String>,
    admin_password: Option<String>,
    now: DateTime<Utc>,
) -> Result<Bootstrap, DataDirError> {
    bootstrap_with(dir, demo_password, admin_password, now, true)
}

/// [`bootstrap`], creating key files under `keys/` only if `key_files`: with a shared store
/// the keys live in the store (created there by `store_keys::open_key_source`), and private
/// keys left on disk would be unused copies.
pub fn bootstrap_with(
    dir: &Path,
    demo_password: Option<String>,
    admin_password: Option<String>,
    now: DateTime<Utc>,
    key_files: bool,
) -> Result<Bootstrap, DataDirError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut out = Bootstrap::default();
    if key_files
        && !dir
            .join("keys")
        .join(format!("{DEFAULT_KEY}.key.pem"))
        .exists()
    {
        create_pair(dir, DEFAULT_KEY, KeyKind::Rsa, now)?;
        create_pair(dir, DEFAULT_EC_KEY, KeyKind::Ec, now)?;
        out.created_keys = true;
    }
    let users_path = dir.join("users.json");
    if !users_path.exists() {
        let password = match demo_password {
            Some(p) => p,
            None => {
                let p = random_password()?;
                out.demo_password = Some(Secret::new(p.clone()));
                p
            }
        };
        let store = FileUserStore::open(&users_path)?;
        let attrs = [
            ("cn", "Demo User"),
            ("sn", "User"),
            ("givenName", "Demo"),
            ("mail", "demo@example.com"),
            ("isMemberOf", "sts-users"),
        ];
        store.add(User {
            username: DEMO_USER.to_owned(),
            realm: "/".to_owned(),
            password_hash: hash_password(&password)?,
            // PasswordDigest needs the plain password on the server: opt-in only
            // (`sts user add NAME --digest`), never by default.
            digest_secret: None,
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![(*v).to_owned()]))
                .collect(),
            disabled: false,
            admin: false,
        })?;
        out.created_users.push(DEMO_USER);
    }
    let store = FileUserStore::open(&users_path)?;
    if !store.list()?.iter().any(|u| u.admin && u.realm == "/") {
        let password = match admin_password {
            Some(p) => p,
            None => {
                let p = random_password()?;
                out.admin_password = Some(Secret::new(p.clone()));
                p
            }
        };
        store.add(User {
            username: ADMIN_USER.to_owned(),
            realm: "/".to_owned(),
            password_hash: hash_password(&password)?,
            digest_secret: None,
            attributes: [("cn".to_owned(), vec!["Administrator".to_owned()])].into(),
            disabled: false,
            admin: true,
        })?;
        out.created_users.push(ADMIN_USER);
    }
    let soap_dir = dir.join("instances").join("soap");
    if !soap_dir.exists() {
        std::fs::create_dir_all(&soap_dir).map_err(io(&soap_dir))?;
        let path = soap_dir.join(format!("{DEMO_INSTANCE}.json"));
        let json = serde_json::to_vec_pretty(&demo_instance()).unwrap_or_default();
        std::fs::write(&path, json).map_err(io(&path))?;
        out.created_instance = true;
    }
    Ok(out)
}
