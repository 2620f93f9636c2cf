//! Publishing STS instances at run time (OpenAM's `/sts-publish`), and the registry every
//! front end looks instances up in. No HTTP here: the publish routes and `sts instance` in
//! the CLI are two callers of the same [`Publisher`].
//!
//! Instances come from two places. Files under `<data-dir>/instances/{rest,soap}/*.json` are
//! declarative: read at start, listed by the API, changed only by editing the file. Instances
//! published through the API live in the store and survive restarts; every node sharing the
//! store picks up a change within one poll interval ([`Publisher::refresh`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use super::resolve::files::InstanceFiles;
use super::{Binding, DefaultKeys, Kind, ResolvedInstance as Instance, keep_secrets, load, redact};
use crate::keyring::Keyring;
use crate::plugin::Plugins;
use crate::store::{InstanceRecord, InstanceStore, StoreError};

/// Publish failures; each becomes one JSON error in `server::reject`.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Every problem found in an `instance_state`, each naming its property.
    #[error("invalid instance_state: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("an STS instance is already published at `{0}`")]
    Duplicate(String),
    #[error("no {kind} STS instance is published at `{id}`")]
    NotFound { kind: &'static str, id: String },
    #[error("the instance `{0}` has changed since the revision in If-Match")]
    Stale(String),
    #[error("the instance `{id}` is defined by the file {path}; edit or remove that file")]
    FromFile { id: String, path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An instance as the publish API shows it: secrets removed.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    pub rev: String,
    pub kind: Kind,
    pub config: Value,
}

struct FileInstance {
    path: PathBuf,
    rev: String,
    kind: Kind,
    /// As read, to resolve again with new keys.
    json: Value,
}

/// Instance files by id, with their resolved instances.
type Files = Arc<HashMap<String, (FileInstance, Arc<Instance>)>>;

/// Where a publisher re-reads its keys when they change, with the stamp last loaded.
struct KeyWatch {
    source: Box<dyn crate::keyring::KeySource>,
    stamp: Mutex<Option<crate::keyring::KeyStamp>>,
}

/// The instances of this node, swapped as a whole on change so that readers never wait on a
/// writer for long.
type Map = Arc<HashMap<String, Arc<Instance>>>;

pub struct Publisher {
    store: Arc<dyn InstanceStore>,
    keys: RwLock<Arc<Keyring>>,
    key_source: Option<KeyWatch>,
    default_keys: DefaultKeys,
    /// Custom token plug-ins instances may name.
    plugins: Arc<Plugins>,
    /// Where files that instances name (`jwks-file`) are read from.
    instance_files: InstanceFiles,
    files: RwLock<Files>,
    live: RwLock<Map>,
    /// The store generation `live` was built from; None forces a reload.
    generation: Mutex<Option<i64>>,
    now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
}

/// Says loudly, once per publish or load, that an instance issues unsigned assertions: an
/// explicit choice (`"saml2-sign-assertion": "false"`), but one that relying parties, and
/// this STS's own Validate, cannot check.
pub fn warn_if_unsigned(id: &str, instance: &Instance) {
    if instance.config.saml2().is_some_and(|s| !s.sign_assertion) {
        tracing::warn!(
            instance = %id,
            "saml2-sign-assertion is false: this instance issues UNSIGNED SAML2 assertions, which relying parties cannot verify and this STS cannot validate"
        );
    }
}

/// The configuration JSON of a stored instance; a corrupt row is a store failure.
fn stored_json(rec: &InstanceRecord) -> Result<Value, PublishError> {
    serde_json::from_str(&rec.config)
        .map_err(|e| PublishError::Store(StoreError::Db(format!("instance `{}`: {e}", rec.id))))
}

fn new_rev() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn content_rev(json: &Value) -> String {
    let digest = openssl::sha::sha256(json.to_string().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Publisher {
    /// Builds the registry from the instance files and the store. A file that does not load
    /// stops the start (the operator wrote it); a stored instance that does not resolve on
    /// this node (a key alias missing here, say) is logged and skipped.
    pub fn new(
        store: Arc<dyn InstanceStore>,
        keys: Keyring,
        default_keys: DefaultKeys,
        plugins: Arc<Plugins>,
        instance_files: InstanceFiles,
        files: Vec<(PathBuf, Kind, Value)>,
        now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Result<Publisher, (PathBuf, String)> {
        let mut by_id = HashMap::new();
        for (path, kind, json) in files {
            let binding = Binding {
                keys: &keys,
                default_keys: &default_keys,
                plugins: &plugins,
                files: &instance_files,
            };
            let instance = load(kind, &json, &binding).map_err(|p| (path.clone(), p.join("; ")))?;
            let id = instance.config.subpath();
            warn_if_unsigned(&id, &instance);
            let rev = content_rev(&json);
            let file = FileInstance {
                path: path.clone(),
                rev,
                kind,
                json,
            };
            if by_id
                .insert(id.clone(), (file, Arc::new(instance)))
                .is_some()
            {
                return Err((path, format!("a second file defines the instance `{id}`")));
            }
        }
        let p = Publisher {
            store,
            keys: RwLock::new(Arc::new(keys)),
            key_source: None,
            default_keys,
            plugins,
            instance_files,
            files: RwLock::new(Arc::new(by_id)),
            live: RwLock::new(Arc::new(HashMap::new())),
            generation: Mutex::new(None),
            now_ms,
        };
        p.refresh()
            .map_err(|e| (PathBuf::from("store"), e.to_string()))?;
        Ok(p)
    }

    /// Watches the keys' source (the data directory's `keys/`, or the store in a cluster):
    /// [`Publisher::refresh`] then reloads the keyring when its stamp changes (`sts keys
    /// rotate`, a new relying party certificate) and resolves every instance again with it.
    /// `stamp` is the source's stamp taken before the keys in use were read.
    pub fn watch_keys(
        mut self,
        source: Box<dyn crate::keyring::KeySource>,
        stamp: Option<crate::keyring::KeyStamp>,
    ) -> Publisher {
        self.key_source = Some(KeyWatch {
            source,
            stamp: Mutex::new(stamp),
        });
        self
    }

    /// Reads the keys again now, whatever their stamp says, and resolves every instance with
    /// them: the entry point for a change notice (the `keys` topic of the store's change feed).
    /// True if new keys are in use.
    pub fn reload_keys(&self) -> Result<bool, StoreError> {
        self.refresh_with(true)
    }

    /// The keys instances are resolved against now (readiness and key-expiry metrics).
    pub fn keys(&self) -> Arc<Keyring> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// What instances are resolved against, with `keys`.
    fn binding<'a>(&'a self, keys: &'a Keyring) -> Binding<'a> {
        Binding {
            keys,
            default_keys: &self.default_keys,
            plugins: &self.plugins,
            files: &self.instance_files,
        }
    }

    fn files(&self) -> Files {
        self.files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reloads the keyring if its source changed (or `force`); true if the new keys are in
    /// use. A keyring that does not load, or that an instance file cannot be served with, is
    /// refused as a whole (logged) and the old keys stay; the next change is tried again.
    fn refresh_keys(&self, force: bool) -> bool {
        let Some(watch) = &self.key_source else {
            return false;
        };
        let mut last = watch
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = watch.source.stamp();
        if !force && (now.is_none() || *last == now) {
            return false;
        }
        let keys = match watch.source.load() {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "the keys changed but do not load; the previous keys stay in use");
                return false;
            }
        };
        let mut files = HashMap::new();
        for (id, (file, _)) in self.files().iter() {
            match load(file.kind, &file.json, &self.binding(&keys)) {
                Ok(i) => {
                    let file = FileInstance {
                        path: file.path.clone(),
                        rev: file.rev.clone(),
                        kind: file.kind,
                        json: file.json.clone(),
                    };
                    files.insert(id.clone(), (file, Arc::new(i)));
                }
                Err(p) => {
                    tracing::error!(file = %file.path.display(), problems = %p.join("; "), "the keys changed but this instance file cannot be served with the new keys; the previous keys stay in use");
                    return false;
                }
            }
        }
        *self
            .files
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(files);
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
        *last = now;
        tracing::info!("keys reloaded");
        true
    }

    /// The instance published at `subpath`, REST or SOAP.
    pub fn instance(&self, subpath: &str) -> Option<Arc<Instance>> {
        // Looked up under the read lock, without taking a reference to the whole map: every
        // request comes here, and the map's reference count is one more counter all request
        // threads would write to.
        self.live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(subpath)
            .cloned()
    }

    /// Every instance served by this node.
    pub fn instances(&self) -> Vec<Arc<Instance>> {
        let map = self
            .live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        map.values().cloned().collect()
    }

    /// Reloads the stored instances if any changed since the last load; true if it did.
    pub fn refresh(&self) -> Result<bool, StoreError> {
        self.refresh_with(false)
    }

    fn refresh_with(&self, force_keys: bool) -> Result<bool, StoreError> {
        let rekeyed = self.refresh_keys(force_keys);
        let mut generation = self
            .generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.store.instances_generation()?;
        if *generation == Some(now) && !rekeyed {
            return Ok(false);
        }
        // Stored instances are announced when this node first loads them; later loads are
        // announced by whoever publishes.
        let first_load = generation.is_none();
        let files = self.files();
        let mut map: HashMap<String, Arc<Instance>> = files
            .iter()
            .map(|(id, (_, i))| (id.clone(), i.clone()))
            .collect();
        for rec in self.store.list_instances()? {
            if let Some((file, _)) = files.get(&rec.id) {
                tracing::warn!(id = %rec.id, file = %file.path.display(), "a published instance is shadowed by an instance file");
                continue;
            }
            match self.resolve_record(&rec) {
                Ok(i) => {
                    if first_load {
                        warn_if_unsigned(&rec.id, &i);
                    }
                    map.insert(rec.id.clone(), Arc::new(i));
                }
                Err(problems) => {
                    tracing::error!(id = %rec.id, problems = %problems.join("; "), "a published instance cannot be served on this node")
                }
            }
        }
        // The metrics' instance labels are the published set, never a name from a URL.
        crate::metrics::set_instances(map.keys().map(String::as_str));
        *self
            .live
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(map);
        *generation = Some(now);
        Ok(true)
    }

    /// The write is committed: a failed reload is logged, not reported as a failed write
    /// (the poller retries it).
    fn refresh_after_write(&self) {
        if let Err(e) = self.refresh() {
            tracing::warn!(error = %e, "reloading instances after a change failed; the poller will retry");
        }
    }

    fn resolve_record(&self, rec: &InstanceRecord) -> Result<Instance, Vec<String>> {
        let kind =
            Kind::parse(&rec.kind).ok_or_else(|| vec![format!("unknown kind {}", rec.kind)])?;
        let json: Value = serde_json::from_str(&rec.config).map_err(|e| vec![e.to_string()])?;
        load(kind, &json, &self.binding(&self.keys()))
    }

    fn shown(id: &str, rev: &str, kind: Kind, mut json: Value) -> Published {
        redact(&mut json);
        Published {
            id: id.to_owned(),
            rev: rev.to_owned(),
            kind,
            config: json,
        }
    }

    /// Publishes a new instance; it is live on this node when this returns.
    pub fn create(&self, kind: Kind, state: &Value) -> Result<Published, PublishError> {
        let instance = load(kind, state, &self.binding(&self.keys()));
        // The url element may be taken even when the state has other problems: say both.
        let id = match &instance {
            Ok(i) => Some(i.config.subpath()),
            Err(_) => state
                .get("deployment-config")
                .and_then(|d| d.get("deployment-url-element"))
                .and_then(Value::as_str)
                .map(|u| {
                    let realm = state
                        .get("deployment-config")
                        .and_then(|d| d.get("deployment-realm"))
                        .and_then(Value::as_str)
                        .unwrap_or("/");
                    crate::instance::subpath(realm, u)
                }),
        };
        let taken = match &id {
            Some(id) => self.files().contains_key(id) || self.store.get_instance(id)?.is_some(),
            None => false,
        };
        let instance = match (instance, taken) {
            (Ok(i), false) => i,
            (Ok(_), true) => return Err(PublishError::Duplicate(id.unwrap_or_default())),
            (Err(mut problems), taken) => {
                if taken {
                    problems.push(format!(
                        "deployment-config.deployment-url-element: an STS instance is already published at `{}`",
                        id.unwrap_or_default()
                    ));
                }
                return Err(PublishError::Invalid(problems));
            }
        };
        let id = instance.config.subpath();
        let json = instance.config.to_json();
        let rec = InstanceRecord {
            id: id.clone(),
            kind: kind.as_str().into(),
            rev: new_rev(),
            config: json.to_string(),
            updated_ms: (self.now_ms)(),
        };
        // The store's key decides races between publishers, here or on other nodes.
        if !self.store.insert_instance(&rec)? {
            return Err(PublishError::Duplicate(id));
        }
        warn_if_unsigned(&id, &instance);
        self.refresh_after_write();
        Ok(Self::shown(&id, &rec.rev, kind, json))
    }

    /// One instance of `kind`.
    pub fn read(&self, kind: Kind, id: &str) -> Result<Published, PublishError> {
        let not_found = || PublishError::NotFound {
            kind: kind.as_str(),
            id: id.to_owned(),
        };
        if let Some((file, inst)) = self.files().get(id) {
            return if inst.config.kind() == kind {
                Ok(Self::shown(id, &file.rev, kind, inst.config.to_json()))
            } else {
                Err(not_found())
            };
        }
        let rec = self.store.get_instance(id)?.ok_or_else(not_found)?;
        if rec.kind != kind.as_str() {
            return Err(not_found());
        }
        Ok(Self::shown(id, &rec.rev, kind, stored_json(&rec)?))
    }

    /// Every instance of `kind`, files first, each group by id.
    pub fn list(&self, kind: Kind) -> Result<Vec<Published>, PublishError> {
        let files = self.files();
        let mut out: Vec<Published> = files
            .iter()
            .filter(|(_, (_, i))| i.config.kind() == kind)
            .map(|(id, (f, i))| Self::shown(id, &f.rev, kind, i.config.to_json()))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        for rec in self.store.list_instances()? {
            if rec.kind == kind.as_str() && !files.contains_key(&rec.id) {
                out.push(Self::shown(&rec.id, &rec.rev, kind, stored_json(&rec)?));
            }
        }
        Ok(out)
    }

    fn stored(&self, kind: Kind, id: &str) -> Result<InstanceRecord, PublishError> {
        if let Some((file, _)) = self.files().get(id) {
            return Err(PublishError::FromFile {
                id: id.to_owned(),
                path: file.path.display().to_string(),
            });
        }
        match self.store.get_instance(id)? {
            Some(rec) if rec.kind == kind.as_str() => Ok(rec),
            _ => Err(PublishError::NotFound {
                kind: kind.as_str(),
                id: id.to_owned(),
            }),
        }
    }

    /// Replaces an instance's configuration. `if_match` (`_rev`, or `*`) makes it
    /// conditional. Secrets the new state omits are kept from the stored one.
    pub fn update(
        &self,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
        state: &Value,
    ) -> Result<Published, PublishError> {
        let old = self.stored(kind, id)?;
        if if_match.is_some_and(|r| r != "*" && r != old.rev) {
            return Err(PublishError::Stale(id.to_owned()));
        }
        let mut state = state.clone();
        keep_secrets(&mut state, &stored_json(&old)?);
        let instance =
            load(kind, &state, &self.binding(&self.keys())).map_err(PublishError::Invalid)?;
        if instance.config.subpath() != id {
            return Err(PublishError::Invalid(vec![format!(
                "deployment-config: the realm and url element name `{}`, not `{id}`; publish a new instance to move it",
                instance.config.subpath()
            )]));
        }
        let json = instance.config.to_json();
        let rec = InstanceRecord {
            id: id.to_owned(),
            kind: kind.as_str().into(),
            rev: new_rev(),
            config: json.to_string(),
            updated_ms: (self.now_ms)(),
        };
        if !self.store.update_instance(&old.rev, &rec)? {
            return Err(PublishError::Stale(id.to_owned()));
        }
        warn_if_unsigned(id, &instance);
        self.refresh_after_write();
        Ok(Self::shown(id, &rec.rev, kind, json))
    }

    /// Removes an instance and its endpoints (tokens it issued stay until they expire or are
    /// cancelled through `/sts-tokengen`).
    pub fn delete(
        &self,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Published, PublishError> {
        let old = self.stored(kind, id)?;
        let expected = match if_match {
            None | Some("*") => old.rev.as_str(),
            Some(r) => r,
        };
        if !self.store.delete_instance(id, Some(expected))? {
            return Err(match if_match {
                Some(r) if r != "*" => PublishError::Stale(id.to_owned()),
                _ => PublishError::NotFound {
                    kind: kind.as_str(),
                    id: id.to_owned(),
                },
            });
        }
        self.refresh_after_write();
        Ok(Self::shown(id, &old.rev, kind, stored_json(&old)?))
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
