//! Values put into LDAP search filters and read out of DNs. A user name goes into a filter
//! only through [`fill`], escaped as RFC 4515 says, so `a*)(uid=*` searches for that literal
//! name; DNs are never built from user input (search-then-bind).

use std::fmt::Write as _;

/// `value` escaped for a filter: `*`, `(`, `)`, `\`, NUL (and other control bytes, so that
/// nothing unprintable reaches the directory's logs) become `\XX`.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if matches!(c, '*' | '(' | ')' | '\\') || c.is_ascii_control() {
            let _ = write!(out, "\\{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `template` with every `placeholder` replaced by the escaped `value`.
pub fn fill(template: &str, placeholder: &str, value: &str) -> String {
    template.replace(placeholder, &escape(value))
}

/// The value of a DN's first attribute (`cn=Admins\, EU,ou=groups,...` -> `Admins, EU`),
/// with RFC 4514 escapes undone; `None` if the DN does not start with `type=value`.
pub fn first_rdn_value(dn: &str) -> Option<String> {
    let (_, value) = dn.split_once('=')?;
    let mut bytes = Vec::with_capacity(value.len());
    let mut it = value.bytes();
    while let Some(b) = it.next() {
        match b {
            b',' | b'+' => break,
            b'\\' => {
                let first = it.next()?;
                match (first as char).to_digit(16) {
                    // `\XX`: one byte in hexadecimal.
                    Some(hi) => {
                        let lo = (it.next()? as char).to_digit(16)?;
                        bytes.push(u8::try_from(hi * 16 + lo).ok()?);
                    }
                    // `\,` and the like: the character itself.
                    None => bytes.push(first),
                }
            }
            _ => bytes.push(b),
        }
    }
    let s = String::from_utf8(bytes).ok()?;
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_metacharacters_are_escaped() {
        assert_eq!(escape("alice"), "alice");
        assert_eq!(escape("a*)(uid=*"), "a\\2a\\29\\28uid=\\2a");
        assert_eq!(escape("back\\slash"), "back\\5cslash");
        assert_eq!(escape("nul\0cr\r"), "nul\\00cr\\0d");
        assert_eq!(escape("Jörg"), "Jörg");
        assert_eq!(
            fill("(&(objectClass=person)(uid={username}))", "{username}", "*"),
            "(&(objectClass=person)(uid=\\2a))"
        );
        // The escaped filter parses as one equality match, not as a wildcard or a second term.
        let f = fill("(uid={username})", "{username}", "a*)(uid=*");
        assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
        assert_eq!(f.matches('(').count(), 1);
    }

    #[test]
    fn the_first_rdn_value_is_the_short_name() {
        assert_eq!(
            first_rdn_value("cn=admins,ou=groups,dc=example,dc=com").as_deref(),
            Some("admins")
        );
        assert_eq!(
            first_rdn_value("CN=Sales\\, EU,OU=Groups,DC=corp").as_deref(),
            Some("Sales, EU")
        );
        assert_eq!(
            first_rdn_value("cn=J\\c3\\b6rg+uid=j,dc=x").as_deref(),
            Some("Jörg")
        );
        assert_eq!(first_rdn_value("no equals sign"), None);
        assert_eq!(first_rdn_value("cn=,dc=x"), None);
        assert_eq!(first_rdn_value("cn=bad\\"), None);
    }
}
