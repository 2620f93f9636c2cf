//! Keys kept in the store, for a cluster: every node signs with the same keys, and `sts keys
//! rotate` on one node reaches all of them through the store. Private keys are wrapped with
//! the master key (`STS_MASTER_KEY_FILE`) before they reach the store, bound to their alias.
//!
//! Which source a node uses ([`open_key_source`]): the store when it already holds keys, or
//! when it is shared (`store::is_shared`: PostgreSQL); then an empty store is seeded from the
//! `keys/` of the first node to start, and the default key pairs are created if missing. A
//! single SQLite node keeps its keys as files under `keys/`, as before.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{DEFAULT_EC_KEY, DEFAULT_KEY, DataDirError};
use crate::crypto::{
    Certificate, KeyKind, MasterKey, REWRAP_ATTEMPTS, RowRewrap, Rewrapped, new_key_pair,
};
use crate::keyring::{DirSource, Entry, KeySource, KeyStamp, Keyring, KeyringError};
use crate::secret::Secret;
use crate::store::users::UserRecordStore;
use crate::store::{KeyRecord, KeyStore, Store};

/// What binds a wrapped private key to its alias: a blob copied to another alias does not
/// unwrap.
fn aad(alias: &str) -> Vec<u8> {
    [&b"sts/keys/"[..], alias.as_bytes()].concat()
}

fn new_rev() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn no_master_key() -> DataDirError {
    DataDirError::Keys(
        "the store holds private keys wrapped with a master key, and this node has none: set \
         STS_MASTER_KEY_FILE (or master_key_file) to the master key file every node shares"
            .into(),
    )
}

/// Whether `sts keys` and the server keep keys in the store rather than in `keys/`.
pub fn keys_in_store(store: &dyn KeyStore, shared: bool) -> Result<bool, DataDirError> {
    Ok(shared || !store.key_revisions()?.is_empty())
}

/// Reads the master key file, if one is configured.
pub fn load_master_key(path: Option<&Path>) -> Result<Option<Arc<MasterKey>>, DataDirError> {
    Ok(match path {
        Some(p) => Some(Arc::new(MasterKey::load(p)?)),
        None => None,
    })
}

/// The keys in the store, as a keyring source that notices changes made by any node.
pub struct StoreKeys {
    store: Arc<dyn KeyStore>,
    master: Option<Arc<MasterKey>>,
}

impl StoreKeys {
    pub fn new(store: Arc<dyn KeyStore>, master: Option<Arc<MasterKey>>) -> StoreKeys {
        StoreKeys { store, master }
    }

    fn entry(&self, r: KeyRecord) -> Result<Entry, KeyringError> {
        let key_pem = match &r.wrapped_key {
            None => None,
            Some(blob) => {
                let master = self
                    .master
                    .as_ref()
                    .ok_or_else(|| KeyringError::Source(no_master_key().to_string()))?;
                Some(master.unwrap(blob, &aad(&r.alias)).map_err(|e| {
                    KeyringError::Source(format!("store key `{}`: {e}", r.alias))
                })?)
            }
        };
        Ok(Entry {
            origin: format!("store key `{}`", r.alias),
            alias: r.alias,
            cert_pem: r.cert_pem,
            key_pem,
            previous_cert_pem: r.previous_cert_pem,
        })
    }
}

impl KeySource for StoreKeys {
    fn stamp(&self) -> Option<KeyStamp> {
        match self.store.key_revisions() {
            Ok(revs) => Some(
                revs.into_iter()
                    .map(|(alias, rev)| format!("{alias}\t{rev}"))
                    .collect(),
            ),
            Err(e) => {
                tracing::debug!(error = %e, "reading the keys' revisions failed; retried at the next poll");
                None
            }
        }
    }

    fn load(&self) -> Result<Keyring, KeyringError> {
        let rows = self
            .store
            .list_keys()
            .map_err(|e| KeyringError::Source(format!("reading keys from the store: {e}")))?;
        let entries = rows
            .into_iter()
            .map(|r| self.entry(r))
            .collect::<Result<Vec<_>, _>>()?;
        Keyring::from_entries(entries)
    }
}

/// A row for `alias` with `cert_pem`, and the private key wrapped when it is a pair.
fn record(
    alias: &str,
    cert_pem: Vec<u8>,
    key_pem: Option<&Secret<Vec<u8>>>,
    previous_cert_pem: Option<Vec<u8>>,
    master: Option<&MasterKey>,
    now: DateTime<Utc>,
) -> Result<KeyRecord, DataDirError> {
    crate::keyring::check_alias(alias).map_err(DataDirError::Keys)?;
    let cert = Certificate::from_pem(alias, &cert_pem)
        .map_err(|e| DataDirError::Keys(format!("`{alias}`: {e}")))?;
    let wrapped_key = match key_pem {
        None => None,
        Some(k) => Some(
            master
                .ok_or_else(no_master_key)?
                .wrap(k.expose(), &aad(alias))?,
        ),
    };
    Ok(KeyRecord {
        alias: alias.to_owned(),
        kind: cert.kind().name().to_owned(),
        cert_pem,
        wrapped_key,
        previous_cert_pem,
        rev: new_rev(),
        updated_ms: now.timestamp_millis(),
    })
}

/// Creates the key pair `alias` in the store; false when the alias is taken.
pub fn create_pair(
    store: &dyn KeyStore,
    master: &MasterKey,
    alias: &str,
    kind: KeyKind,
    now: DateTime<Utc>,
) -> Result<bool, DataDirError> {
    let (key_pem, cert_pem) = new_key_pair(alias, kind, now)?;
    let key_pem = Secret::new(key_pem);
    let rec = record(alias, cert_pem, Some(&key_pem), None, Some(master), now)?;
    Ok(store.insert_key(&rec)?)
}

/// Replaces the key pair `alias` with a new one of the same kind, keeping its certificate as
/// the previous one (tokens it signed still validate). Two rotations at once: one wins, the
/// other fails and says so.
pub fn rotate(
    store: &dyn KeyStore,
    master: &MasterKey,
    alias: &str,
    now: DateTime<Utc>,
) -> Result<KeyKind, DataDirError> {
    let old = store
        .get_key(alias)?
        .ok_or_else(|| DataDirError::Keys(format!("no key `{alias}` in the store")))?;
    if old.wrapped_key.is_none() {
        return Err(DataDirError::Keys(format!(
            "`{alias}` is not a key pair (only a certificate); nothing to rotate"
        )));
    }
    let kind = Certificate::from_pem(alias, &old.cert_pem)
        .map_err(|e| DataDirError::Keys(format!("`{alias}`: {e}")))?
        .kind();
    let (key_pem, cert_pem) = new_key_pair(alias, kind, now)?;
    let key_pem = Secret::new(key_pem);
    let rec = record(
        alias,
        cert_pem,
        Some(&key_pem),
        Some(old.cert_pem),
        Some(master),
        now,
    )?;
    if !store.replace_key(&old.rev, &rec)? {
        return Err(DataDirError::Keys(format!(
            "`{alias}` changed in the store while it was being rotated; nothing written, run it again"
        )));
    }
    Ok(kind)
}

/// Wraps every private key of the store that is not wrapped with `master`'s current key again
/// under it (`sts keys master-key rewrap`). Each row is replaced only if nobody changed it
/// meanwhile (a rotation on another node): then it is read again, up to
/// [`REWRAP_ATTEMPTS`] times. A key no key of `master` opens is left as it is and reported.
/// Counts into `out` as it goes: on an error, `out` holds what was done.
pub fn rewrap_keys(
    store: &dyn KeyStore,
    master: &MasterKey,
    now: DateTime<Utc>,
    out: &mut Rewrapped,
) -> Result<(), DataDirError> {
    for r in store.list_keys()? {
        if r.wrapped_key.is_some() {
            out.count(rewrap_key(store, master, &r.alias, now)?);
        }
    }
    Ok(())
}

fn rewrap_key(
    store: &dyn KeyStore,
    master: &MasterKey,
    alias: &str,
    now: DateTime<Utc>,
) -> Result<RowRewrap, DataDirError> {
    for _ in 0..REWRAP_ATTEMPTS {
        let Some(old) = store.get_key(alias)? else {
            return Ok(RowRewrap::Gone);
        };
        let Some(blob) = &old.wrapped_key else {
            return Ok(RowRewrap::Gone);
        };
        let plain = match master.unwrap(blob, &aad(alias)) {
            Ok(p) => p,
            Err(e) => return Ok(RowRewrap::Failed(format!("key `{alias}`: {e}"))),
        };
        if master.is_current(blob) {
            return Ok(RowRewrap::Current);
        }
        let rec = KeyRecord {
            wrapped_key: Some(master.wrap(plain.expose(), &aad(alias))?),
            rev: new_rev(),
            updated_ms: now.timestamp_millis(),
            ..old.clone()
        };
        if store.replace_key(&old.rev, &rec)? {
            return Ok(RowRewrap::Rewrapped);
        }
    }
    Ok(RowRewrap::Failed(format!(
        "key `{alias}` kept changing while it was being rewrapped ({REWRAP_ATTEMPTS} tries); \
         run it again"
    )))
}

/// Reads the master key file at `path` again (SIGHUP) and puts its keys in place of
/// `master`'s, for every holder of `master`, if they differ and open what the store holds
/// ([`check_opens`], as a start requires). Ok(true) if the keys changed; on an error `master`
/// is as it was.
pub fn reload_master_key(
    master: &MasterKey,
    path: &Path,
    store: &dyn Store,
) -> Result<bool, DataDirError> {
    let new = MasterKey::load(path)?;
    if new.ids_hex() == master.ids_hex() {
        return Ok(false);
    }
    check_opens(store, &new)?;
    master.replace(new);
    Ok(true)
}

/// Checks that `master` opens every private key the store holds, and holds the key every
/// user's digest secret names ([`check_digest_secrets`]), as a start needs.
pub fn check_opens(store: &dyn Store, master: &MasterKey) -> Result<(), DataDirError> {
    for r in store.list_keys()? {
        if let Some(blob) = &r.wrapped_key {
            master
                .unwrap(blob, &aad(&r.alias))
                .map_err(|e| DataDirError::Keys(format!("store key `{}`: {e}", r.alias)))?;
        }
    }
    check_digest_secrets(store, master)
}

/// How many users [`check_digest_secrets`] names.
const USERS_NAMED: usize = 5;

/// Checks that `master` holds the key each user's digest secret names (the blob's key id;
/// nothing is decrypted): a node without it would serve those users without PasswordDigest.
/// The error counts them and names the first few (user, realm, key id).
pub fn check_digest_secrets(
    users: &dyn UserRecordStore,
    master: &MasterKey,
) -> Result<(), DataDirError> {
    let ours = master.ids_hex();
    let mut missing: Vec<String> = Vec::new();
    let mut count = 0usize;
    for u in users.list_users()? {
        let Some(blob) = &u.digest_secret else {
            continue;
        };
        let id = crate::crypto::wrap::blob_key_id(blob);
        if id.as_ref().is_some_and(|id| ours.contains(id)) {
            continue;
        }
        count = count.saturating_add(1);
        if missing.len() < USERS_NAMED {
            missing.push(format!(
                "`{}` in realm `{}` (master key {})",
                u.username,
                u.realm,
                id.as_deref().unwrap_or("unknown: not a wrapped secret")
            ));
        }
    }
    if count == 0 {
        return Ok(());
    }
    let more = count.saturating_sub(missing.len());
    Err(DataDirError::Keys(format!(
        "{count} user digest secret(s) are wrapped with a master key the master key file \
         (STS_MASTER_KEY_FILE) does not hold (it holds {}): {}{}; every node needs a master key \
         file with the keys the store's blobs name",
        ours.join(", "),
        missing.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )))
}

/// Adds a relying party's certificate to the store under `alias`.
pub fn import_certificate(
    store: &dyn KeyStore,
    alias: &str,
    pem: &[u8],
    now: DateTime<Utc>,
) -> Result<(), DataDirError> {
    let rec = record(alias, pem.to_vec(), None, None, None, now)?;
    if !store.insert_key(&rec)? {
        return Err(DataDirError::Keys(format!("the alias `{alias}` is taken")));
    }
    Ok(())
}

/// Copies `keys/` into the store, alias by alias; an alias already there is left as it is
/// (another node seeded it first). Returns how many were added.
pub fn import_dir(
    dir: &Path,
    store: &dyn KeyStore,
    master: &MasterKey,
    now: DateTime<Utc>,
) -> Result<usize, DataDirError> {
    let entries = crate::keyring::read_dir_entries(dir)?;
    // Checked as a whole first: a broken pair must not be half imported.
    Keyring::from_entries(entries.clone())?;
    let mut added = 0;
    for e in entries {
        let rec = record(
            &e.alias,
            e.cert_pem,
            e.key_pem.as_ref(),
            e.previous_cert_pem,
            Some(master),
            now,
        )?;
        if store.insert_key(&rec)? {
            added += 1;
        }
    }
    Ok(added)
}

/// The keys a node starts with, and where it re-reads them from.
pub struct OpenedKeys {
    pub keys: Keyring,
    pub source: Box<dyn KeySource>,
    /// The source's stamp, taken before `keys` were read.
    pub stamp: Option<KeyStamp>,
}

/// Chooses the node's key source (see the module doc), seeding an empty shared store. A store
/// that holds wrapped keys needs the master key: without it the node refuses to start.
pub fn open_key_source(
    dir: &Path,
    store: Arc<dyn KeyStore>,
    shared: bool,
    master: Option<Arc<MasterKey>>,
    now: DateTime<Utc>,
) -> Result<OpenedKeys, DataDirError> {
    let rows = store.list_keys()?;
    if rows.is_empty() && !shared {
        let source = DirSource(dir.to_owned());
        let stamp = source.stamp();
        return Ok(OpenedKeys {
            keys: source.load()?,
            source: Box::new(source),
            stamp,
        });
    }
    if rows.iter().any(|r| r.wrapped_key.is_some()) && master.is_none() {
        return Err(no_master_key());
    }
    if shared {
        let m = master.as_deref().ok_or_else(|| {
            DataDirError::Keys(
                "a shared store keeps the signing keys, wrapped with a master key: set \
                 STS_MASTER_KEY_FILE (create the file once with `sts keys master-key generate \
                 FILE` and give every node the same)"
                    .into(),
            )
        })?;
        if rows.is_empty() {
            let added = import_dir(dir, store.as_ref(), m, now)?;
            if added > 0 {
                tracing::info!(added, "copied keys/ into the empty store; the store's keys are used from now on");
            }
        }
        // Every node makes sure of the default pairs before it reads, so that nodes starting
        // together on an empty store all start with the same ones (the first insert wins).
        for (alias, kind) in [(DEFAULT_KEY, KeyKind::Rsa), (DEFAULT_EC_KEY, KeyKind::Ec)] {
            if !rows.iter().any(|r| r.alias == alias)
                && store.get_key(alias)?.is_none()
                && create_pair(store.as_ref(), m, alias, kind, now)?
            {
                tracing::info!(alias, "created a signing key in the store");
            }
        }
    }
    let source = StoreKeys::new(store, master);
    let stamp = source.stamp();
    let keys = source.load()?;
    Ok(OpenedKeys {
        keys,
        source: Box::new(source),
        stamp,
    })
}

#[cfg(test)]
#[path = "store_keys_tests.rs"]
mod tests;
