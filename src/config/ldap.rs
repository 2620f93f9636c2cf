//! `[realms."<realm>".ldap]`: the directory (LDAP, Active Directory) a realm's users come from.
//! Checked when the configuration loads, so that a typo is an error at start, not a refused
//! sign-in at the first request.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use crate::secret::Secret;

/// One realm's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmConfig {
    /// The realm's users come from this directory (local administrators excepted).
    pub ldap: Option<LdapConfig>,
}

/// Where user entries are searched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchScope {
    /// Entries just below the base.
    One,
    /// The whole subtree below the base.
    #[default]
    Sub,
}

/// How a binary attribute's values are written into the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BinaryForm {
    /// Standard base64 of the bytes.
    Base64,
    /// Active Directory's GUID string (`objectGUID`), e.g. `4bd9f9a4-...`.
    Guid,
    /// A security identifier's string form (`objectSid`), `S-1-5-21-...`.
    Sid,
}

/// How groups are named in `memberOf`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupName {
    /// The group's full DN.
    #[default]
    Dn,
    /// The value of the DN's first RDN (`cn=admins,ou=groups,...` -> `admins`).
    Cn,
}

/// A realm's directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LdapConfig {
    /// `ldaps://host:port` or `ldap://host:port`, tried in order.
    pub urls: Vec<String>,
    /// PEM CA certificate(s) trusted for the directory's TLS; unset: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Whether `ldap://` URLs upgrade with StartTLS.
    pub starttls: bool,
    /// Allows `ldap://` without TLS (`starttls = false`), and only to loopback hosts.
    pub insecure_plaintext: bool,
    /// The service account that searches for users.
    pub bind_dn: String,
    /// A file whose first line is the service account's password.
    pub bind_password_file: Option<PathBuf>,
    /// The service account's password, read from `bind_password_file` or
    /// `STS_LDAP_BIND_PASSWORD` when the configuration loads.
    #[serde(skip)]
    pub bind_password: Option<Secret<String>>,
    pub user_base: String,
    pub user_scope: SearchScope,
    /// `{username}` is replaced by the escaped name (RFC 4515).
    pub user_filter: String,
    /// Attributes copied into the principal, under these names.
    pub attributes: Vec<String>,
    /// Attributes holding bytes, and how to write them.
    pub binary_attributes: BTreeMap<String, BinaryForm>,
    /// The attribute of the user's entry listing its groups' DNs; empty: none.
    pub groups_attribute: String,
    /// Where to search for groups having the user as a member; unset: no search.
    pub group_base: Option<String>,
    /// `{dn}` is replaced by the user's escaped DN.
    pub group_filter: String,
    pub group_name: GroupName,
    pub connect_timeout_millis: u64,
    pub operation_timeout_millis: u64,
    /// Connections to the directory, at most.
    pub pool_size: usize,
}

/// The attributes fetched when `attributes` is not set.
pub const DEFAULT_ATTRIBUTES: &[&str] = &["cn", "sn", "givenName", "displayName", "mail", "uid"];

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            urls: Vec::new(),
            ca_file: None,
            starttls: true,
            insecure_plaintext: false,
            bind_dn: String::new(),
            bind_password_file: None,
            bind_password: None,
            user_base: String::new(),
            user_scope: SearchScope::Sub,
            user_filter: "(uid={username})".to_owned(),
            attributes: DEFAULT_ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect(),
            binary_attributes: BTreeMap::new(),
            groups_attribute: "memberOf".to_owned(),
            group_base: None,
            group_filter: "(member={dn})".to_owned(),
            group_name: GroupName::Dn,
            connect_timeout_millis: 2000,
            operation_timeout_millis: 5000,
            pool_size: 8,
        }
    }
}

/// An `ldap://` or `ldaps://` URL, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl LdapUrl {
    /// `ldap[s]://host[:port][/]`; a base DN, attributes or filter in the URL are refused
    /// (they belong in `user_base` and `user_filter`).
    pub fn parse(url: &str) -> Result<LdapUrl, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("ldaps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ldap://") {
            (false, r)
        } else {
            return Err(format!("`{url}` must start with ldaps:// or ldap://"));
        };
        let hostport = rest.strip_suffix('/').unwrap_or(rest);
        if hostport.contains(['/', '?', '@', ' ']) {
            return Err(format!(
                "`{url}`: only ldap[s]://host:port (put the base DN in user_base)"
            ));
        }
        let default_port = if tls { 636 } else { 389 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: unclosed [ in the host"))?;
            (h, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{url}` names no host"));
        }
        let port = match port {
            None => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("`{url}`: `{p}` is not a port"))?,
        };
        Ok(LdapUrl {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// Whether the host is this machine: an address in 127.0.0.0/8 or `::1`. Not the name
    /// `localhost`, which trusts the resolver with where a plaintext password goes.
    pub fn is_loopback(&self) -> bool {
        self.host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Whether `key` is a realm as `sts realm add` writes it: `/` or `/a/b`.
fn normalised_realm(key: &str) -> bool {
    key == "/"
        || key.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|seg| {
                (1..=128).contains(&seg.len())
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
            })
        })
}

/// Whether a filter template is one balanced, parenthesised filter once `{placeholder}` is
/// filled in with a plain value.
fn filter_ok(template: &str, placeholder: &str) -> bool {
    let sample = template.replace(placeholder, "x");
    sample.starts_with('(') && sample.ends_with(')') && ldap3::parse_filter(&sample).is_ok()
}

impl LdapConfig {
    /// Checks the settings of realm `realm`; errors name the section and the key.
    pub fn validate(&self, realm: &str) -> Result<(), ConfigError> {
        let bad = |m: String| ConfigError::Invalid(format!("[realms.\"{realm}\".ldap] {m}"));
        if self.urls.is_empty() {
            return Err(bad("urls: list at least one ldaps:// or ldap:// URL".into()));
        }
        for u in &self.urls {
            let url = LdapUrl::parse(u).map_err(|m| bad(format!("urls: {m}")))?;
            if !url.tls && !self.starttls {
                if !self.insecure_plaintext {
                    return Err(bad(format!(
                        "urls: `{u}` would send passwords in clear: use ldaps://, or keep starttls = true"
                    )));
                }
                if !url.is_loopback() {
                    return Err(bad(format!(
                        "urls: `{u}`: plain LDAP without StartTLS is allowed only to loopback hosts, even with insecure_plaintext"
                    )));
                }
            }
        }
        if self.bind_dn.trim().is_empty() {
            return Err(bad(
                "bind_dn: name the service account that searches for users".into(),
            ));
        }
        if self.user_base.trim().is_empty() {
            return Err(bad("user_base: name where the users are".into()));
        }
        if !self.user_filter.contains("{username}") {
            return Err(bad(format!(
                "user_filter `{}` must contain {{username}}, e.g. (uid={{username}})",
                self.user_filter
            )));
        }
        if !filter_ok(&self.user_filter, "{username}") {
            return Err(bad(format!(
                "user_filter `{}` is not an LDAP filter",
                self.user_filter
            )));
        }
        if let Some(base) = &self.group_base {
            if base.trim().is_empty() {
                return Err(bad(
                    "group_base is empty: remove it, or name where the groups are".into(),
                ));
            }
            if !self.group_filter.contains("{dn}") || !filter_ok(&self.group_filter, "{dn}") {
                return Err(bad(format!(
                    "group_filter `{}` must be an LDAP filter containing {{dn}}, e.g. (member={{dn}})",
                    self.group_filter
                )));
            }
        }
        let attr_ok = |a: &str| {
            !a.is_empty()
                && a.len() <= 128
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';')
        };
        if let Some(a) = self
            .attributes
            .iter()
            .chain(self.binary_attributes.keys())
            .find(|a| !attr_ok(a))
        {
            return Err(bad(format!("`{a}` is not an attribute name")));
        }
        if !self.groups_attribute.is_empty() && !attr_ok(&self.groups_attribute) {
            return Err(bad(format!(
                "groups_attribute `{}` is not an attribute name",
                self.groups_attribute
            )));
        }
        if !(10..=60_000).contains(&self.connect_timeout_millis) {
            return Err(bad(
                "connect_timeout_millis must be between 10 and 60000".into()
            ));
        }
        if !(10..=600_000).contains(&self.operation_timeout_millis) {
            return Err(bad(
                "operation_timeout_millis must be between 10 and 600000".into(),
            ));
        }
        if !(1..=1000).contains(&self.pool_size) {
            return Err(bad("pool_size must be between 1 and 1000".into()));
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(bad(format!(
                "ca_file {} is not a readable file",
                ca.display()
            )));
        }
        Ok(())
    }
}

/// Checks every realm's directory and reads its bind password: `STS_LDAP_BIND_PASSWORD`
/// (`env`) when exactly one realm has a directory, else each one's `bind_password_file`.
pub(super) fn prepare(
    realms: &mut BTreeMap<String, RealmConfig>,
    env: Option<String>,
) -> Result<(), ConfigError> {
    let directories = realms.values().filter(|r| r.ldap.is_some()).count();
    if env.is_some() && directories != 1 {
        return Err(ConfigError::Env {
            name: "STS_LDAP_BIND_PASSWORD",
            message: format!(
                "serves exactly one realm with a directory, and {directories} have one: use bind_password_file"
            ),
        });
    }
    for (realm, rc) in realms.iter_mut() {
        if !normalised_realm(realm) {
            return Err(ConfigError::Invalid(format!(
                "[realms.\"{realm}\"]: write the realm as `sts realm add` shows it, \"/\" or \"/name\""
            )));
        }
        let Some(ldap) = rc.ldap.as_mut() else {
            continue;
        };
        ldap.validate(realm)?;
        ldap.bind_password = Some(match (&env, &ldap.bind_password_file) {
            // An empty password makes the service bind an unauthenticated one, which some
            // directories (AD) accept: refuse it as the password file's empty line is.
            (Some(pw), _) if pw.is_empty() => {
                return Err(ConfigError::Invalid(
                    "STS_LDAP_BIND_PASSWORD is empty".into(),
                ));
            }
            (Some(pw), _) => Secret::new(pw.clone()),
            (None, Some(path)) => read_password(path).map_err(|m| {
                ConfigError::Invalid(format!(
                    "[realms.\"{realm}\".ldap] bind_password_file {}: {m}",
                    path.display()
                ))
            })?,
            (None, None) => {
                return Err(ConfigError::Invalid(format!(
                    "[realms.\"{realm}\".ldap] needs bind_password_file (or STS_LDAP_BIND_PASSWORD)"
                )));
            }
        });
    }
    Ok(())
}

/// The first line of `path`, which must not be empty.
fn read_password(path: &std::path::Path) -> Result<Secret<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err("the first line is empty".into());
    }
    Ok(Secret::new(line.to_owned()))
}

#[cfg(test)]
mod tests;
