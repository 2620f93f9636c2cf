//! OAuth 2.0 clients of each realm and their authentication at the introspection endpoint
//! (RFC 7662 section 2.1 asks for client authentication; RFC 6749 2.3.1 defines
//! `client_secret_basic` and `client_secret_post`; `none` is a public client, which only
//! names itself). Nothing here knows about HTTP: the front end hands in what it read.
//!
//! Secrets are made here (256 random bits, base64url) and shown once; only their SHA-256 is
//! stored. With that much entropy a slow password hash adds nothing, and keeps introspection
//! cheap enough to be called per request by resource servers.

use std::sync::Arc;

use base64::Engine as _;

use crate::secret::{Secret, ct_eq};
use crate::store::{ClientRecord, ClientStore, StoreError};

/// How a client authenticates (`token_endpoint_auth_method`, RFC 7591).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<AuthMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A client as shown to administrators (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub realm: String,
    pub client_id: String,
    pub auth_method: AuthMethod,
    pub created_ms: i64,
}

/// Failures of client administration.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error("the realm {realm} already has a client `{client_id}`")]
    Duplicate { realm: String, client_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Client credentials as the request carried them.
#[derive(Debug, Default)]
pub struct Presented {
    /// From `Authorization: Basic` (client id, secret).
    pub basic: Option<(String, Secret<String>)>,
    /// `client_id` of the form body.
    pub body_id: Option<String>,
    /// `client_secret` of the form body.
    pub body_secret: Option<Secret<String>>,
}

/// Why a client was not authenticated: RFC 6749 5.2's `invalid_request` (400) or
/// `invalid_client` (401).
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClient(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The clients service.
pub struct Clients {
    store: Arc<dyn ClientStore>,
    now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
}

fn info(r: &ClientRecord) -> Option<ClientInfo> {
    Some(ClientInfo {
        realm: r.realm.clone(),
        client_id: r.client_id.clone(),
        auth_method: AuthMethod::parse(&r.auth_method)?,
        created_ms: r.created_ms,
    })
}

/// A client id: 1 to 128 of `A-Z a-z 0-9 . _ ~ -` (no `:`, which Basic authentication
/// uses as its separator, and nothing that needs escaping in a URL).
pub fn valid_client_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
}

impl Clients {
    pub fn new(store: Arc<dyn ClientStore>, now_ms: Box<dyn Fn() -> i64 + Send + Sync>) -> Self {
        Clients { store, now_ms }
    }

    /// Registers a client; returns it and, unless it is public, its secret (shown once).
    pub fn register(
        &self,
        realm: &str,
        client_id: &str,
        method: AuthMethod,
    ) -> Result<(ClientInfo, Option<Secret<String>>), ClientError> {
        if !valid_client_id(client_id) {
            return Err(ClientError::Invalid(format!(
                "client id `{client_id}` must be 1 to 128 letters, digits or . _ ~ -"
            )));
        }
        let realm = crate::identity::normalize_realm(realm);
        let secret = match method {
            AuthMethod::None => None,
            _ => {
                let mut raw = [0u8; 32];
                openssl::rand::rand_bytes(&mut raw)
                    .map_err(|e| ClientError::Invalid(format!("no randomness: {e}")))?;
                Some(Secret::new(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
                ))
            }
        };
        let rec = ClientRecord {
            realm: realm.clone(),
            client_id: client_id.to_owned(),
            auth_method: method.as_str().to_owned(),
            secret_hash: secret
                .as_ref()
                .map(|s| openssl::sha::sha256(s.expose().as_bytes()).to_vec())
                .unwrap_or_default(),
            created_ms: (self.now_ms)(),
        };
        if !self.store.insert_client(&rec)? {
            return Err(ClientError::Duplicate {
                realm,
                client_id: client_id.to_owned(),
            });
        }
        let shown = info(&rec).ok_or_else(|| ClientError::Invalid("bad method".into()))?;
        Ok((shown, secret))
    }

    pub fn list(&self, realm: Option<&str>) -> Result<Vec<ClientInfo>, ClientError> {
        let realm = realm.map(crate::identity::normalize_realm);
        Ok(self
            .store
            .list_clients(realm.as_deref())?
            .iter()
            .filter_map(info)
            .collect())
    }

    pub fn get(&self, realm: &str, client_id: &str) -> Result<Option<ClientInfo>, ClientError> {
        let realm = crate::identity::normalize_realm(realm);
        Ok(self
            .store
            .get_client(&realm, client_id)?
            .as_ref()
            .and_then(info))
    }

    /// Removes a client; false if there was none.
    pub fn delete(&self, realm: &str, client_id: &str) -> Result<bool, ClientError> {
        let realm = crate::identity::normalize_realm(realm);
        Ok(self.store.delete_client(&realm, client_id)?)
    }

    /// Authenticates the caller of an endpoint of `realm` by the method its registration
    /// names. Credentials in both the header and the body are refused (RFC 6749 2.3: one
    /// method per request).
    pub fn authenticate(&self, realm: &str, p: &Presented) -> Result<ClientInfo, AuthFailure> {
        let bad = || AuthFailure::InvalidClient("client authentication failed".into());
        let (id, secret, used) = match (&p.basic, &p.body_id, &p.body_secret) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(AuthFailure::InvalidRequest(
                    "client credentials were sent both in the Authorization header and in the body; use one"
                        .into(),
                ));
            }
            (Some((id, secret)), None, None) => (id, Some(secret), AuthMethod::ClientSecretBasic),
            (None, Some(id), Some(secret)) => (id, Some(secret), AuthMethod::ClientSecretPost),
            (None, Some(id), None) => (id, None, AuthMethod::None),
            (None, None, Some(_)) => {
                return Err(AuthFailure::InvalidRequest(
                    "client_secret without client_id".into(),
                ));
            }
            (None, None, None) => {
                return Err(AuthFailure::InvalidClient(
                    "client authentication is required".into(),
                ));
            }
        };
        let realm = crate::identity::normalize_realm(realm);
        let rec = if valid_client_id(id) {
            self.store.get_client(&realm, id)?
        } else {
            None
        };
        let presented = secret.map(|s| openssl::sha::sha256(s.expose().as_bytes()));
        let Some(rec) = rec else {
            // Spend the comparison an existing client would cost.
            let _ = presented.map(|h| ct_eq(&h, &[0u8; 32]));
            return Err(bad());
        };
        let client = info(&rec).ok_or_else(bad)?;
        match (presented, rec.secret_hash.is_empty()) {
            (Some(h), false) if ct_eq(&h, &rec.secret_hash) => {}
            (None, true) => {}
            _ => return Err(bad()),
        }
        if client.auth_method != used {
            return Err(AuthFailure::InvalidClient(format!(
                "this client is registered for {}, not {}",
                client.auth_method.as_str(),
                used.as_str()
            )));
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients() -> Clients {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::open(&format!("sqlite://{}", dir.path().join("c.db").display())).unwrap();
        std::mem::forget(dir);
        Clients::new(store, Box::new(|| 1))
    }

    #[test]
    fn each_method_authenticates_only_its_way() {
        let c = clients();
        let (_, basic) = c
            .register("/", "rs-basic", AuthMethod::ClientSecretBasic)
            .unwrap();
        let (_, post) = c
            .register("/", "rs-post", AuthMethod::ClientSecretPost)
            .unwrap();
        let (_, none) = c.register("/", "spa", AuthMethod::None).unwrap();
        let (basic, post) = (basic.unwrap(), post.unwrap());
        assert!(none.is_none());
        assert_eq!(basic.expose().len(), 43);
        let p =
            |b: Option<(&str, &Secret<String>)>, id: Option<&str>, s: Option<&Secret<String>>| {
                Presented {
                    basic: b.map(|(i, s)| (i.to_owned(), s.clone())),
                    body_id: id.map(str::to_owned),
                    body_secret: s.cloned(),
                }
            };
        assert!(
            c.authenticate("/", &p(Some(("rs-basic", &basic)), None, None))
                .is_ok()
        );
        assert!(
            c.authenticate("/", &p(None, Some("rs-post"), Some(&post)))
                .is_ok()
        );
        assert!(c.authenticate("/", &p(None, Some("spa"), None)).is_ok());
        let fails = |r: Result<ClientInfo, AuthFailure>| match r {
            Err(AuthFailure::InvalidClient(m)) => m,
            other => panic!("{other:?}"),
        };
        // Wrong method, wrong secret, unknown client, another realm.
        assert!(
            fails(c.authenticate("/", &p(None, Some("rs-basic"), Some(&basic))))
                .contains("registered for client_secret_basic")
        );
        assert!(
            fails(c.authenticate("/", &p(Some(("rs-post", &post)), None, None)))
                .contains("client_secret_post")
        );
        fails(c.authenticate("/", &p(Some(("rs-basic", &post)), None, None)));
        fails(c.authenticate("/", &p(None, Some("rs-basic"), None)));
        fails(c.authenticate("/", &p(None, Some("ghost"), None)));
        fails(c.authenticate("/other", &p(None, Some("spa"), None)));
        assert!(matches!(
            c.authenticate("/", &p(Some(("rs-basic", &basic)), Some("rs-basic"), None)),
            Err(AuthFailure::InvalidRequest(_))
        ));
        assert!(matches!(
            c.register("/", "rs-basic", AuthMethod::None),
            Err(ClientError::Duplicate { .. })
        ));
        assert!(c.register("/", "bad:id", AuthMethod::None).is_err());
        assert!(c.delete("/", "spa").unwrap());
        fails(c.authenticate("/", &p(None, Some("spa"), None)));
    }
}
