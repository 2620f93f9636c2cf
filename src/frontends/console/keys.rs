//! The console's key administration (what `sts keys` does from the command line): list with
//! fingerprints and validity, rotate a key pair, import a relying party's certificate. Keys
//! serve every realm, so only administrators of the top-level realm reach this.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::crypto::{Certificate, MasterKey, fingerprint};
use crate::datadir::{DataDirError, store_keys};
use crate::frontends::Context;
use crate::frontends::admin::guard::AdminOf;
use crate::frontends::crest::{JsonFailure, internal};
use crate::keyring::KeyringError;
use crate::store::Store;

/// Where the node's keys are kept: `keys/` of the data directory, or the store (private keys
/// wrapped with the master key) when it is shared or already holds keys.
pub struct KeyAdmin {
    pub data_dir: PathBuf,
    pub store: Arc<dyn Store>,
    pub shared: bool,
    pub master: Option<Arc<MasterKey>>,
}

/// The audit event of a key change, with the fields the CLI's event has (`alias`, `where`)
/// and `via`, written before `change` is made: with `audit_required`, a trail that cannot be
/// written refuses the request (503) and the keys stay as they were.
fn audited<T>(
    ctx: &Context,
    by: &AdminOf,
    action: &'static str,
    alias: &str,
    in_store: bool,
    change: impl FnOnce() -> Result<T, JsonFailure>,
) -> Result<T, JsonFailure> {
    let place = if in_store { "store" } else { "keys/" };
    crate::frontends::audited::admin(
        ctx,
        by,
        action,
        &[("alias", alias), ("where", place), ("via", "console")],
        change,
    )
}

/// One listed key or certificate.
struct Listed {
    alias: String,
    role: &'static str,
    cert: Arc<Certificate>,
}

fn keyring_failure(e: KeyringError) -> JsonFailure {
    match e {
        KeyringError::Invalid { message, .. } | KeyringError::Entry { message, .. } => {
            JsonFailure::BadRequest(message)
        }
        other => internal(other),
    }
}

fn failure(e: DataDirError) -> JsonFailure {
    match e {
        DataDirError::Keys(m) => JsonFailure::BadRequest(m),
        DataDirError::Invalid { message, .. } => JsonFailure::BadRequest(message),
        DataDirError::Keyring(k) => keyring_failure(k),
        other => internal(other),
    }
}

impl KeyAdmin {
    fn in_store(&self) -> Result<bool, JsonFailure> {
        store_keys::keys_in_store(self.store.as_ref(), self.shared).map_err(failure)
    }

    fn master(&self) -> Result<&MasterKey, JsonFailure> {
        self.master.as_deref().ok_or_else(|| {
            JsonFailure::BadRequest(
                "the store keeps private keys wrapped with the master key: this node has none \
                 (STS_MASTER_KEY_FILE)"
                    .into(),
            )
        })
    }

    fn listed(&self) -> Result<Vec<Listed>, JsonFailure> {
        let mut out = Vec::new();
        if self.in_store()? {
            for r in self.store.list_keys().map_err(internal)? {
                let cert = Arc::new(Certificate::from_pem(&r.alias, &r.cert_pem).map_err(internal)?);
                let role = match (&r.wrapped_key, &r.previous_cert_pem) {
                    (Some(_), Some(_)) => "key pair (rotated)",
                    (Some(_), None) => "key pair",
                    (None, _) => "certificate",
                };
                out.push(Listed {
                    alias: r.alias,
                    role,
                    cert,
                });
            }
        } else {
            let ring = crate::keyring::Keyring::load(&self.data_dir).map_err(keyring_failure)?;
            for (alias, cert) in &ring.certificates {
                let role = match ring.signing.get(alias) {
                    Some(k) if k.previous().is_some() => "key pair (rotated)",
                    Some(_) => "key pair",
                    None => "certificate",
                };
                out.push(Listed {
                    alias: alias.clone(),
                    role,
                    cert: cert.clone(),
                });
            }
        }
        out.sort_by(|a, b| a.alias.cmp(&b.alias));
        Ok(out)
    }

    /// Every key and certificate: alias, kind, role, SHA-256 fingerprint, validity.
    pub fn list(&self) -> Result<Value, JsonFailure> {
        let result: Vec<Value> = self
            .listed()?
            .iter()
            .map(|l| {
                let x509 = openssl::x509::X509::from_der(l.cert.der()).ok();
                let time = |t: Option<&openssl::asn1::Asn1TimeRef>| t.map(|t| t.to_string());
                json!({
                    "alias": l.alias,
                    "kind": format!("{:?}", l.cert.kind()),
                    "role": l.role,
                    "fingerprint": fingerprint(l.cert.der()),
                    "not_before": time(x509.as_ref().map(|x| x.not_before())),
                    "not_after": time(x509.as_ref().map(|x| x.not_after())),
                })
            })
            .collect();
        Ok(json!({"result": result, "resultCount": result.len()}))
    }

    /// Replaces the key pair `alias` with a new one; its old certificate stays trusted.
    /// Recorded on the audit trail as `key.rotated` by `by`, as `sts keys rotate` is.
    pub fn rotate(&self, ctx: &Context, by: &AdminOf, alias: &str) -> Result<Value, JsonFailure> {
        crate::keyring::check_alias(alias).map_err(JsonFailure::BadRequest)?;
        let now = ctx.engine.now();
        let in_store = self.in_store()?;
        let kind = audited(ctx, by, "key.rotated", alias, in_store, || {
            if in_store {
                store_keys::rotate(self.store.as_ref(), self.master()?, alias, now).map_err(failure)
            } else {
                crate::keyring::rotate(&self.data_dir, alias, now).map_err(keyring_failure)
            }
        })?;
        self.reload(ctx);
        tracing::info!(%alias, "key rotated through the console");
        Ok(json!({"alias": alias, "kind": format!("{kind:?}"), "result": "rotated"}))
    }

    /// Adds a relying party's certificate (PEM) under `alias`.
    /// Recorded on the audit trail as `key.imported` by `by`, as `sts keys import` is.
    pub fn import(
        &self,
        ctx: &Context,
        by: &AdminOf,
        alias: &str,
        pem: &str,
    ) -> Result<Value, JsonFailure> {
        crate::keyring::check_alias(alias).map_err(JsonFailure::BadRequest)?;
        // Checked before anything is written: the error names what is wrong with it.
        Certificate::from_pem(alias, pem.as_bytes())
            .map_err(|e| JsonFailure::BadRequest(format!("not a PEM certificate: {e}")))?;
        let in_store = self.in_store()?;
        audited(ctx, by, "key.imported", alias, in_store, || {
            if in_store {
                store_keys::import_certificate(self.store.as_ref(), alias, pem.as_bytes(), ctx.engine.now())
                    .map_err(failure)
            } else {
                crate::keyring::import_certificate(&self.data_dir, alias, pem.as_bytes())
                    .map_err(keyring_failure)
            }
        })?;
        self.reload(ctx);
        tracing::info!(%alias, "certificate imported through the console");
        Ok(json!({"alias": alias, "result": "imported"}))
    }

    /// This node uses the new keys at once (the others within their poll interval).
    fn reload(&self, ctx: &Context) {
        if let Err(e) = ctx.publisher.reload_keys() {
            tracing::warn!(error = %e, "reloading keys after a console change failed");
        }
    }
}
