//! A search result entry, read without trusting the server: malformed BER is an error, not
//! a panic, and values stay bytes until each attribute's configured form says how to read
//! them (an `objectGUID` may happen to be valid UTF-8).

use std::collections::BTreeMap;

use ldap3::ResultEntry;

use super::binary;
use super::filter::first_rdn_value;
use crate::config::{GroupName, LdapConfig};

/// The account-state attributes, requested explicitly (several are operational).
pub const STATE_ATTRIBUTES: &[&str] = &[
    "userAccountControl",
    "lockoutTime",
    "pwdAccountLockedTime",
    "nsAccountLock",
];

/// AD's `userAccountControl` ACCOUNTDISABLE bit.
const ACCOUNTDISABLE: i64 = 0x2;

/// One entry: its DN and its attributes' raw values.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dn: String,
    attrs: Vec<(String, Vec<Vec<u8>>)>,
}

/// Whether the directory lets the account sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    /// Disabled, and by which attribute.
    Disabled(&'static str),
    /// Locked, and by which attribute.
    Locked(&'static str),
}

impl Entry {
    /// Reads a SearchResultEntry: `[APPLICATION 4] { objectName, attributes }`.
    pub fn parse(re: ResultEntry) -> Option<Entry> {
        let mut parts = re.0.match_id(4)?.expect_constructed()?.into_iter();
        let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
        let mut attrs = Vec::new();
        for attr in parts.next()?.expect_constructed()? {
            let mut pa = attr.expect_constructed()?.into_iter();
            let name = String::from_utf8(pa.next()?.expect_primitive()?).ok()?;
            let values = pa
                .next()?
                .expect_constructed()?
                .into_iter()
                .map(|v| v.expect_primitive())
                .collect::<Option<Vec<_>>>()?;
            attrs.push((name, values));
        }
        Some(Entry { dn, attrs })
    }

    #[cfg(test)]
    pub fn new(dn: &str, attrs: &[(&str, &[&[u8]])]) -> Entry {
        Entry {
            dn: dn.to_owned(),
            attrs: attrs
                .iter()
                .map(|(n, vs)| ((*n).to_owned(), vs.iter().map(|v| v.to_vec()).collect()))
                .collect(),
        }
    }

    /// The values of `name` (attribute names are case-insensitive; `name;binary` and other
    /// options count as `name`).
    pub fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.attrs
            .iter()
            .filter(move |(n, _)| {
                let base = n.split(';').next().unwrap_or(n);
                base.eq_ignore_ascii_case(name)
            })
            .flat_map(|(_, vs)| vs.iter().map(Vec::as_slice))
    }

    /// The values of `name` that are text.
    pub fn texts(&self, name: &str) -> Vec<String> {
        self.values(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .map(str::to_owned)
            .collect()
    }

    /// Disabled or locked, by whichever directory's convention the entry carries.
    pub fn state(&self) -> AccountState {
        let first = |n: &str| self.texts(n).into_iter().next();
        if first("userAccountControl")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .is_some_and(|uac| uac & ACCOUNTDISABLE != 0)
        {
            return AccountState::Disabled("userAccountControl");
        }
        if first("nsAccountLock").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return AccountState::Disabled("nsAccountLock");
        }
        if first("lockoutTime")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .is_some_and(|t| t > 0)
        {
            return AccountState::Locked("lockoutTime");
        }
        if first("pwdAccountLockedTime").is_some() {
            return AccountState::Locked("pwdAccountLockedTime");
        }
        AccountState::Active
    }

    /// The group DNs listed on the entry itself.
    pub fn group_dns(&self, cfg: &LdapConfig) -> Vec<String> {
        if cfg.groups_attribute.is_empty() {
            return Vec::new();
        }
        self.texts(&cfg.groups_attribute)
    }

    /// The principal's attributes: the configured ones under their configured names, the
    /// binary ones in their forms, and `memberOf` holding `groups` named as configured.
    pub fn principal_attributes(
        &self,
        cfg: &LdapConfig,
        groups: Vec<String>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for name in &cfg.attributes {
            if cfg.binary_attributes.contains_key(name) {
                continue;
            }
            let values = self.texts(name);
            if !values.is_empty() {
                out.insert(name.clone(), values);
            }
        }
        for (name, form) in &cfg.binary_attributes {
            let values: Vec<String> = self
                .values(name)
                .filter_map(|v| {
                    let s = binary::format(*form, v);
                    if s.is_none() {
                        tracing::warn!(dn = %self.dn, attribute = %name, ?form, "a directory value is not in the form configured for it; left out");
                    }
                    s
                })
                .collect();
            if !values.is_empty() {
                out.insert(name.clone(), values);
            }
        }
        let groups_configured = !cfg.groups_attribute.is_empty() || cfg.group_base.is_some();
        if groups_configured {
            let mut named: Vec<String> = groups
                .into_iter()
                .filter_map(|dn| match cfg.group_name {
                    GroupName::Dn => Some(dn),
                    GroupName::Cn => first_rdn_value(&dn),
                })
                .collect();
            named.sort();
            named.dedup();
            if named.is_empty() {
                out.remove("memberOf");
            } else {
                out.insert("memberOf".to_owned(), named);
            }
        }
        out
    }
}

/// The attributes a user search asks for: the configured ones, the groups attribute and the
/// account-state ones, each once.
pub fn requested(cfg: &LdapConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let wanted = cfg
        .attributes
        .iter()
        .map(String::as_str)
        .chain(cfg.binary_attributes.keys().map(String::as_str))
        .chain(std::iter::once(cfg.groups_attribute.as_str()))
        .chain(STATE_ATTRIBUTES.iter().copied());
    for a in wanted {
        if !a.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
            out.push(a.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LdapConfig {
        let mut c = LdapConfig {
            attributes: vec!["cn".into(), "mail".into()],
            ..LdapConfig::default()
        };
        c.binary_attributes
            .insert("objectGUID".into(), crate::config::BinaryForm::Guid);
        c
    }

    #[test]
    fn account_state_by_each_directorys_convention() {
        let state = |attrs: &[(&str, &[&[u8]])]| Entry::new("uid=x,dc=t", attrs).state();
        assert_eq!(state(&[("cn", &[b"x"])]), AccountState::Active);
        assert_eq!(
            state(&[("userAccountControl", &[b"514"])]),
            AccountState::Disabled("userAccountControl")
        );
        assert_eq!(state(&[("userAccountControl", &[b"512"])]), AccountState::Active);
        assert_eq!(
            state(&[("lockoutTime", &[b"133512345678901234"])]),
            AccountState::Locked("lockoutTime")
        );
        assert_eq!(state(&[("lockoutTime", &[b"0"])]), AccountState::Active);
        assert_eq!(
            state(&[("pwdAccountLockedTime", &[b"20261207050000Z"])]),
            AccountState::Locked("pwdAccountLockedTime")
        );
        assert_eq!(
            state(&[("NSACCOUNTLOCK", &[b"TRUE"])]),
            AccountState::Disabled("nsAccountLock")
        );
        assert_eq!(state(&[("nsAccountLock", &[b"false"])]), AccountState::Active);
    }

    #[test]
    fn attributes_groups_and_binary_values_into_the_principal() {
        let guid: &[u8] = &[
            0x4b, 0xd9, 0xf9, 0xa4, 0x1b, 0x3c, 0x5d, 0x4e, 0x8f, 0x01, 0x23, 0x45, 0x67, 0x89,
            0xab, 0xcd,
        ];
        let e = Entry::new(
            "uid=alice,ou=people,dc=t",
            &[
                ("CN", &[b"Alice Liddell"]),
                ("mail", &[b"alice@example.com", b"a@example.com"]),
                ("sn", &[b"Liddell"]),
                ("objectGUID", &[guid]),
                ("memberOf", &[b"cn=staff,ou=groups,dc=t"]),
            ],
        );
        let mut c = cfg();
        let groups = vec![
            "cn=staff,ou=groups,dc=t".to_owned(),
            "cn=admins,ou=groups,dc=t".to_owned(),
        ];
        let a = e.principal_attributes(&c, groups.clone());
        assert_eq!(a.get("cn").unwrap(), &vec!["Alice Liddell".to_owned()]);
        assert_eq!(a.get("mail").unwrap().len(), 2);
        assert!(!a.contains_key("sn"), "not configured");
        assert_eq!(
            a.get("objectGUID").unwrap(),
            &vec!["a4f9d94b-3c1b-4e5d-8f01-23456789abcd".to_owned()]
        );
        assert_eq!(a.get("memberOf").unwrap().len(), 2);
        c.group_name = GroupName::Cn;
        let a = e.principal_attributes(&c, groups);
        assert_eq!(
            a.get("memberOf").unwrap(),
            &vec!["admins".to_owned(), "staff".to_owned()]
        );
        assert_eq!(e.group_dns(&c), vec!["cn=staff,ou=groups,dc=t".to_owned()]);
        c.groups_attribute = String::new();
        assert!(e.group_dns(&c).is_empty());
    }

    #[test]
    fn each_attribute_is_requested_once_with_the_state_ones() {
        let mut c = cfg();
        c.attributes.push("MAIL".into());
        let r = requested(&c);
        assert_eq!(r.iter().filter(|a| a.eq_ignore_ascii_case("mail")).count(), 1);
        for a in STATE_ATTRIBUTES.iter().chain(["objectGUID", "memberOf"].iter()) {
            assert!(r.iter().any(|x| x == a), "{a} in {r:?}");
        }
    }
}
