//! Unit tests of the engine's rules: a fixed clock, a throwaway SQLite store (PostgreSQL for
//! the store-backed ones, once more: `store_backed_rules_hold_on_postgres`), users in
//! memory, and the demo instance (edited per test).

mod audited;
mod authn;
mod batch;
mod check;
mod directory;
mod faulty;
mod issue;
mod shared_store;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::clock::FixedClock;
use crate::identity::sessions::{SessionPolicy, Sessions};
use crate::identity::throttle::{LockoutPolicy, Throttle};
use crate::identity::{IdentityError, User, UserStore, normalize_realm};
use crate::instance::TokenType;
use crate::secret::Secret;
use crate::wstrust::proof;

/// The fixed start time of every test.
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

const PASSWORD: &str = "correct horse";

/// Users in memory.
struct Users(Vec<User>);

impl UserStore for Users {
    fn find(&self, realm: &str, username: &str) -> Result<Option<User>, IdentityError> {
        let realm = normalize_realm(realm);
        Ok(self
            .0
            .iter()
            .find(|u| normalize_realm(&u.realm) == realm && u.username == username)
            .cloned())
    }
}

fn user(name: &str, admin: bool, disabled: bool) -> User {
    // argon2id is slow by design: hash once.
    static HASH: OnceLock<Secret<String>> = OnceLock::new();
    User {
        username: name.into(),
        realm: "/".into(),
        password_hash: HASH
            .get_or_init(|| crate::identity::hash_password(PASSWORD).unwrap())
            .clone(),
        digest_secret: Some(Secret::new(PASSWORD.into())),
        attributes: BTreeMap::from([("mail".to_owned(), vec![format!("{name}@example.com")])]),
        disabled,
        admin,
    }
}

struct Fixture {
    engine: Engine,
    clock: Arc<FixedClock>,
    dir: tempfile::TempDir,
    keys: crate::keyring::Keyring,
}

thread_local! {
    /// Set by [`store_backed_rules_hold_on_postgres`]: fixtures of this thread use a fresh
    /// database of the shared test PostgreSQL, with the store-backed lockout and replay cache.
    static ON_POSTGRES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The rules that touch the store (sessions, persisted tokens, lockout counters, the replay
/// cache) once more, on PostgreSQL as a cluster node runs them.
#[test]
fn store_backed_rules_hold_on_postgres() {
    ON_POSTGRES.set(true);
    authn::a_password_mints_an_authenticated_principal();
    authn::lockout_is_its_own_kind_with_the_same_answer();
    authn::nonces_are_fresh_once_inside_the_window();
    authn::signed_messages_are_accepted_once_until_they_expire();
    authn::sessions_carry_the_role_and_authenticate_their_user();
    check::persisting_instances_check_the_store();
    check::only_the_principal_or_an_administrator_cancels();
    issue::interim_sessions_are_kept_only_when_issuing_succeeds_and_the_instance_says_so();
    issue::the_interim_guard_logs_out_unless_committed();
}

/// Lockout after this many failures of one account from one source.
const THRESHOLD: u32 = 3;

fn fixture() -> Fixture {
    fixture_with(false)
}

/// A fixture whose clients come over TLS (`tls`) or not.
fn fixture_with(tls: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    crate::datadir::bootstrap(
        dir.path(),
        Some("demo-pw".into()),
        Some("admin-pw".into()),
        t0(),
    )
    .unwrap();
    let keys = crate::datadir::load_keys(dir.path()).unwrap();
    let clock = FixedClock::new(t0());
    let on_postgres = ON_POSTGRES.get();
    let store = if on_postgres {
        crate::store::open(&crate::store::testpg::TestPostgres::shared().fresh_schema()).unwrap()
    } else {
        crate::store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).unwrap()
    };
    let users = Users(vec![
        user("alice", false, false),
        user("bob", false, false),
        user("root", true, false),
        user("gone", false, true),
        // An attribute value with a character XML does not allow (a directory can hold one).
        User {
            attributes: BTreeMap::from([("mail".to_owned(), vec!["ctl\u{1}@example.com".into()])]),
            ..user("ctl", false, false)
        },
    ]);
    let sessions = Sessions::new(
        store.clone(),
        clock.clone(),
        SessionPolicy {
            idle: Duration::minutes(30),
            max: Duration::hours(2),
        },
    );
    let policy = LockoutPolicy {
        threshold: THRESHOLD,
        source_threshold: 100,
        window: Duration::minutes(5),
        lockout: Duration::minutes(10),
        max_entries: 1000,
    };
    // As a cluster node runs: counters and the replay cache in the shared store.
    let throttle = if on_postgres {
        Throttle::in_store(policy, store.clone())
    } else {
        Throttle::new(policy)
    };
    let mut engine = Engine::new(
        clock.clone(),
        Arc::new(users),
        Freshness::default(),
        sessions,
        throttle,
        store.clone(),
    )
    .over_tls(tls);
    if on_postgres {
        engine = engine.with_replay_cache(Box::new(StoreReplayCache::new(store)));
    }
    Fixture {
        engine,
        clock,
        dir,
        keys,
    }
}

impl Fixture {
    /// The demo instance (SAML 2.0 bearer assertions for USERNAME input), edited.
    fn instance(&self, edit: impl FnOnce(&mut serde_json::Value)) -> ResolvedInstance {
        let mut json = crate::datadir::demo_instance();
        edit(&mut json);
        let b = crate::instance::Binding {
            keys: &self.keys,
            default_keys: &crate::instance::DefaultKeys {
                rsa: crate::datadir::DEFAULT_KEY.into(),
                ec: crate::datadir::DEFAULT_EC_KEY.into(),
            },
            plugins: &crate::plugin::Plugins::new(),
            files: &crate::instance::resolve::files::InstanceFiles::in_data_dir(self.dir.path()),
        };
        crate::instance::load(crate::instance::Kind::Soap, &json, &b).unwrap()
    }

    /// An instance that also issues id_tokens.
    fn oidc_instance(&self, persist: bool) -> ResolvedInstance {
        self.instance(|j| {
            j["issued-token-types"] = serde_json::json!(["SAML2", "OPENIDCONNECT"]);
            j["persist-issued-tokens-in-cts"] = persist.to_string().into();
            j["oidc-id-token-config"] = serde_json::json!({
                "oidc-issuer": "https://sts.example.com/oidc", "oidc-audience": ["rp-1"],
                "oidc-signature-algorithm": "RS256", "oidc-token-lifetime-seconds": "300"
            });
        })
    }

    fn advance(&self, by: Duration) {
        self.clock.set(self.engine.now() + by);
    }

    /// alice, authenticated with her password.
    fn alice(&self) -> Authenticated<Principal> {
        self.engine
            .authenticate("/", &password("alice", PASSWORD))
            .unwrap()
    }
}

fn password(name: &str, pw: &str) -> Credential {
    Credential::PasswordText {
        username: name.into(),
        password: Secret::new(pw.into()),
        nonce: None,
        created: None,
        source: None,
    }
}
