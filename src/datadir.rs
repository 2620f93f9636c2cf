//! The data directory: layout, first-start bootstrap, and loading.
//!
//! ```text
//! <data-dir>/keys/<alias>.key.pem      private key (0600), PKCS#8 PEM
//! <data-dir>/keys/<alias>.crt.pem      its certificate
//! <data-dir>/users.json                users (0600), see identity
//! <data-dir>/instances/soap/*.json     SOAP STS instances, OpenAM `instance_state` JSON
//! <data-dir>/instances/rest/*.json     REST STS instances, the same
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

use crate::identity::{FileUserStore, User, hash_password};
use crate::secret::Secret;
use crate::xmldsig::KeyKind;

/// The RSA signing key created on first start, used when an instance names none.
pub const DEFAULT_KEY: &str = "sts-signing";
/// An EC P-256 key created on first start, for instances that sign with ECDSA.
pub const DEFAULT_EC_KEY: &str = "sts-signing-ec";
pub const DEMO_INSTANCE: &str = "soap-username-transformer";
pub const DEMO_USER: &str = "demo";
pub const ADMIN_USER: &str = "amadmin";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating a key failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a file readable by its owner only, atomically (temporary file, then rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// What the first start created, for the banner.
#[derive(Debug, Default)]
pub struct Bootstrap {
    pub created_keys: bool,
    pub demo_password: Option<Secret<String>>,
    /// Set when `amadmin` was created with a generated password.
    pub admin_password: Option<Secret<String>>,
    pub created_instance: bool,
}

fn self_signed(key: &PKey<Private>, cn: &str) -> Result<X509, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(3650)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// A new key pair of `kind` with a self-signed certificate: (PKCS#8 key PEM, certificate PEM).
pub fn new_key_pair(alias: &str, kind: KeyKind) -> Result<(Vec<u8>, Vec<u8>), DataDirError> {
    let key = match kind {
        KeyKind::Rsa => PKey::from_rsa(Rsa::generate(2048)?)?,
        KeyKind::Ec => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            PKey::from_ec_key(EcKey::generate(&group)?)?
        }
    };
    let cert = self_signed(&key, alias)?;
    Ok((key.private_key_to_pem_pkcs8()?, cert.to_pem()?))
}

/// Creates a key pair with a self-signed certificate under `keys/`.
pub fn create_key(dir: &Path, alias: &str, kind: KeyKind) -> Result<(), DataDirError> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(io(&keys))?;
    let (key_pem, cert_pem) = new_key_pair(alias, kind)?;
    let kp = keys.join(format!("{alias}.key.pem"));
    write_private(&kp, &key_pem).map_err(io(&kp))?;
    let cp = keys.join(format!("{alias}.crt.pem"));
    std::fs::write(&cp, cert_pem).map_err(io(&cp))?;
    Ok(())
}

fn random_password() -> Result<String, DataDirError> {
    use base64::Engine as _;
    let mut b = [0u8; 15];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
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
            "saml2-name-id-format": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
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

/// Creates what an empty data directory lacks: keys, the demo user, the administrator
/// `amadmin` (whenever the top-level realm has no administrator), the demo instance.
/// Passwords come from the arguments (`STS_DEMO_PASSWORD`, `STS_ADMIN_PASSWORD`), else they
/// are generated and returned to be shown once. There is no fixed default password.
pub fn bootstrap(
    dir: &Path,
    demo_password: Option<String>,
    admin_password: Option<String>,
) -> Result<Bootstrap, DataDirError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut out = Bootstrap::default();
    if !dir
        .join("keys")
        .join(format!("{DEFAULT_KEY}.key.pem"))
        .exists()
    {
        create_key(dir, DEFAULT_KEY, KeyKind::Rsa)?;
        create_key(dir, DEFAULT_EC_KEY, KeyKind::Ec)?;
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

/// Loads the keyring under `keys/` (see [`crate::keyring`]).
pub fn load_keys(dir: &Path) -> Result<crate::keyring::Keyring, DataDirError> {
    crate::keyring::Keyring::load(dir)
}

/// Reads every instance file: `instances/rest/*.json` and `instances/soap/*.json`, each an
/// `instance_state` object (checked later, by the publisher).
pub fn load_instance_files(
    dir: &Path,
) -> Result<Vec<(PathBuf, crate::instance::Kind, serde_json::Value)>, DataDirError> {
    let mut out = Vec::new();
    for kind in [crate::instance::Kind::Rest, crate::instance::Kind::Soap] {
        let kind_dir = dir.join("instances").join(kind.as_str());
        let entries = match std::fs::read_dir(&kind_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&kind_dir)(e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let json = serde_json::from_slice(&bytes).map_err(|e| DataDirError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
            out.push((path, kind, json));
        }
    }
    Ok(out)
}
