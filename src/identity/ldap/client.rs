//! Search-then-bind: the service account finds the user's one entry by the escaped name,
//! then the user binds as that entry's DN with the password. A DN is never made from what
//! the user typed.

use ldap3::Scope;

use super::entry::{AccountState, Entry, requested};
use super::filter::fill;
use super::pool::{Op, Outcome, Pool};
use super::{DirectoryError, DirectoryUser};
use crate::config::{LdapConfig, SearchScope};
use crate::secret::Secret;

/// LDAP result codes this module tells apart.
const SUCCESS: u32 = 0;
const SIZE_LIMIT_EXCEEDED: u32 = 4;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;
/// A bind the directory refuses for the account's sake (policy, restrictions), not for
/// being down: constraintViolation, inappropriateAuthentication, insufficientAccessRights,
/// unwillingToPerform.
const ACCOUNT_REFUSALS: &[u32] = &[19, 48, 50, 53];

/// Group entries read at most for one user.
const MAX_GROUPS: i32 = 1000;

/// A directory's settings and connections.
pub struct Client {
    cfg: LdapConfig,
    requested: Vec<String>,
    pub(super) pool: Pool,
}

impl Client {
    pub fn new(cfg: &LdapConfig) -> Result<Client, String> {
        Ok(Client {
            cfg: cfg.clone(),
            requested: requested(cfg),
            pool: Pool::new(cfg)?,
        })
    }

    /// The one entry `username` names; several are an error (a filter too broad, or an
    /// injection that got through).
    async fn find(&self, username: &str) -> Result<Option<Entry>, DirectoryError> {
        let filter = fill(&self.cfg.user_filter, "{username}", username);
        let op = Op::Search {
            base: &self.cfg.user_base,
            scope: match self.cfg.user_scope {
                SearchScope::One => Scope::OneLevel,
                SearchScope::Sub => Scope::Subtree,
            },
            filter: &filter,
            attrs: &self.requested,
            size_limit: 2,
        };
        let Outcome::Search(entries, result) = self.pool.run(&op).await? else {
            return Err(DirectoryError::Unavailable("unexpected answer".into()));
        };
        match result.rc {
            SUCCESS => {}
            // More than one entry matched, whatever number the server sent back.
            SIZE_LIMIT_EXCEEDED => return Err(DirectoryError::Ambiguous),
            // A configuration or directory fault, not an unknown user: never counted as a
            // failed sign-in.
            NO_SUCH_OBJECT => {
                return Err(DirectoryError::Unavailable(format!(
                    "user_base {} does not exist",
                    self.cfg.user_base
                )));
            }
            rc => {
                return Err(DirectoryError::Unavailable(format!(
                    "user search: result {rc} {}",
                    result.text
                )));
            }
        }
        if entries.len() > 1 {
            return Err(DirectoryError::Ambiguous);
        }
        let Some(first) = entries.into_iter().next() else {
            return Ok(None);
        };
        let entry = Entry::parse(first)
            .ok_or_else(|| DirectoryError::Unavailable("a malformed search result".into()))?;
        if entry.dn.is_empty() {
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// Binds as `dn` with `password` (never empty here: an empty one is an anonymous bind).
    async fn bind(&self, dn: &str, password: &Secret<String>) -> Result<(), DirectoryError> {
        if password.expose().is_empty() || dn.is_empty() {
            return Err(DirectoryError::EmptyPassword);
        }
        let op = Op::Bind {
            dn,
            password: password.expose(),
        };
        let Outcome::Bind(r) = self.pool.run(&op).await? else {
            return Err(DirectoryError::Unavailable("unexpected answer".into()));
        };
        match r.rc {
            SUCCESS => Ok(()),
            INVALID_CREDENTIALS => Err(DirectoryError::BadPassword),
            rc if ACCOUNT_REFUSALS.contains(&rc) => {
                Err(DirectoryError::Refused(format!("result {rc} {}", r.text)))
            }
            rc => Err(DirectoryError::Unavailable(format!(
                "user bind: result {rc} {}",
                r.text
            ))),
        }
    }

    /// The user's groups: those its entry lists, and those a group search finds.
    async fn groups(&self, entry: &Entry) -> Result<Vec<String>, DirectoryError> {
        let mut groups = entry.group_dns(&self.cfg);
        let Some(base) = &self.cfg.group_base else {
            return Ok(groups);
        };
        let filter = fill(&self.cfg.group_filter, "{dn}", &entry.dn);
        // "1.1": no attributes, the DNs are all that is used.
        let attrs = ["1.1".to_owned()];
        let op = Op::Search {
            base,
            scope: Scope::Subtree,
            filter: &filter,
            attrs: &attrs,
            size_limit: MAX_GROUPS,
        };
        let Outcome::Search(entries, result) = self.pool.run(&op).await? else {
            return Err(DirectoryError::Unavailable("unexpected answer".into()));
        };
        match result.rc {
            SUCCESS => {}
            SIZE_LIMIT_EXCEEDED => {
                tracing::warn!(dn = %entry.dn, "directory: more than {MAX_GROUPS} groups; the rest left out")
            }
            NO_SUCH_OBJECT => {
                tracing::warn!(group_base = %base, "directory: group_base does not exist")
            }
            rc => {
                return Err(DirectoryError::Unavailable(format!(
                    "group search: result {rc} {}",
                    result.text
                )));
            }
        }
        groups.extend(entries.into_iter().filter_map(Entry::parse).map(|e| e.dn));
        Ok(groups)
    }

    fn user(&self, entry: Entry, groups: Vec<String>) -> DirectoryUser {
        DirectoryUser {
            attributes: entry.principal_attributes(&self.cfg, groups),
            state: entry.state(),
            dn: entry.dn,
        }
    }

    /// Search, account state, bind, groups. An empty password is refused before anything
    /// reaches the directory.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret<String>,
    ) -> Result<DirectoryUser, DirectoryError> {
        if password.expose().is_empty() {
            return Err(DirectoryError::EmptyPassword);
        }
        let entry = self.find(username).await?.ok_or(DirectoryError::NoEntry)?;
        match entry.state() {
            AccountState::Active => {}
            AccountState::Disabled(by) => return Err(DirectoryError::Disabled(by)),
            AccountState::Locked(by) => return Err(DirectoryError::Locked(by)),
        }
        self.bind(&entry.dn, password).await?;
        let groups = self.groups(&entry).await?;
        Ok(self.user(entry, groups))
    }

    /// Whether the service account can bind and read `user_base`: what a start-up check
    /// logs, so that a wrong bind password shows before the first sign-in.
    pub async fn check(&self) -> Result<(), DirectoryError> {
        let attrs = ["1.1".to_owned()];
        let op = Op::Search {
            base: &self.cfg.user_base,
            scope: Scope::Base,
            filter: "(objectClass=*)",
            attrs: &attrs,
            size_limit: 1,
        };
        let Outcome::Search(_, result) = self.pool.run(&op).await? else {
            return Err(DirectoryError::Unavailable("unexpected answer".into()));
        };
        match result.rc {
            SUCCESS => Ok(()),
            NO_SUCH_OBJECT => Err(DirectoryError::Unavailable(format!(
                "user_base {} does not exist",
                self.cfg.user_base
            ))),
            rc => Err(DirectoryError::Unavailable(format!(
                "reading user_base: result {rc} {}",
                result.text
            ))),
        }
    }

    /// The user's entry, groups and state, without a bind.
    pub async fn lookup(&self, username: &str) -> Result<Option<DirectoryUser>, DirectoryError> {
        let Some(entry) = self.find(username).await? else {
            return Ok(None);
        };
        let groups = self.groups(&entry).await?;
        Ok(Some(self.user(entry, groups)))
    }
}
