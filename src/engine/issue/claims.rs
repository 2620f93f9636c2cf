//! Requested claims (`wst:Claims`): which of the instance's mapped attributes go into a
//! token. Without a request every mapped attribute the subject has goes in (as before
//! claims were read); with one, only those a requested claim names, and a required claim
//! the instance cannot supply for this subject fails the request rather than yielding a
//! token the relying party would refuse later.

use std::collections::BTreeMap;

use super::super::{EngineError, Principal, RequestedClaim};

/// One token attribute: its name in the token (attribute map key) and its values.
pub(super) type Attribute = (String, Vec<String>);

/// The entries of `map` (token name -> user attribute) the principal has values for,
/// restricted to the `requested` claims when there are any. `answers(name, user_attr, uri)`
/// says whether the entry is what a claim URI asks for.
pub(super) fn select(
    map: &BTreeMap<String, String>,
    principal: &Principal,
    requested: Option<&[RequestedClaim]>,
    answers: impl Fn(&str, &str, &str) -> bool,
) -> Result<Vec<Attribute>, EngineError> {
    let values = |user_attr: &String| {
        principal
            .attributes()
            .get(user_attr)
            .filter(|v| !v.is_empty())
    };
    let Some(requested) = requested else {
        return Ok(map
            .iter()
            .filter_map(|(name, attr)| values(attr).map(|v| (name.clone(), v.clone())))
            .collect());
    };
    let mut supplied = vec![false; requested.len()];
    let mut out = Vec::new();
    for (name, attr) in map {
        let Some(have) = values(attr) else { continue };
        let asking: Vec<usize> = requested
            .iter()
            .enumerate()
            .filter(|(_, c)| answers(name, attr, &c.uri))
            .map(|(i, _)| i)
            .collect();
        if asking.is_empty() {
            continue;
        }
        // A claim with a value asks for that value only; one without asks for them all.
        let wanted = |v: &String| {
            asking
                .iter()
                .filter_map(|&i| requested.get(i))
                .any(|c| c.value.as_ref().is_none_or(|w| w == v))
        };
        let kept: Vec<String> = have.iter().filter(|v| wanted(v)).cloned().collect();
        for &i in &asking {
            let claim = requested.get(i);
            let got = claim.is_some_and(|c| {
                c.value
                    .as_ref()
                    .is_none_or(|w| kept.iter().any(|v| v == w))
            });
            if let (true, Some(s)) = (got, supplied.get_mut(i)) {
                *s = true;
            }
        }
        if !kept.is_empty() {
            out.push((name.clone(), kept));
        }
    }
    let missing: Vec<String> = requested
        .iter()
        .zip(&supplied)
        .filter(|(c, got)| !c.optional && !**got)
        .map(|(c, _)| match &c.value {
            None => format!("`{}`", c.uri),
            Some(v) => format!("`{}` with the value `{v}`", c.uri),
        })
        .collect();
    if !missing.is_empty() {
        return Err(EngineError::Unsupported(format!(
            "this instance cannot supply the required claim {} for this subject (it is not in the instance's attribute map, or the subject has no such value): ask for it with Optional=\"true\" to go without it",
            missing.join(", ")
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PrincipalSource;

    fn claim(uri: &str, optional: bool, value: Option<&str>) -> RequestedClaim {
        RequestedClaim {
            uri: uri.into(),
            optional,
            value: value.map(Into::into),
        }
    }

    #[test]
    fn requested_claims_select_attributes_and_required_ones_must_be_supplied() {
        let map: BTreeMap<String, String> = [("urn:mail", "mail"), ("urn:role", "role"), ("urn:cn", "cn")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        let attrs = [
            ("mail", vec!["a@x"]),
            ("role", vec!["admin", "user"]),
            ("cn", vec![]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
        .collect();
        let p = Principal::new("/".into(), "alice".into(), attrs, None, PrincipalSource::Password)
            .unwrap();
        let exact = |name: &str, _: &str, uri: &str| name == uri;
        let names = |got: Vec<Attribute>| -> Vec<(String, Vec<String>)> { got };
        // No request: every attribute the subject has.
        assert_eq!(select(&map, &p, None, exact).unwrap().len(), 2);
        let got = names(
            select(
                &map,
                &p,
                Some(&[claim("urn:role", false, Some("user")), claim("urn:x", true, None)]),
                exact,
            )
            .unwrap(),
        );
        assert_eq!(got, [("urn:role".to_owned(), vec!["user".to_owned()])]);
        for required in [
            claim("urn:x", false, None),
            claim("urn:cn", false, None),
            claim("urn:role", false, Some("root")),
        ] {
            let e = select(&map, &p, Some(std::slice::from_ref(&required)), exact).unwrap_err();
            assert!(
                matches!(&e, EngineError::Unsupported(m) if m.contains(&required.uri)),
                "{e}"
            );
        }
        assert!(select(&map, &p, Some(&[]), exact).unwrap().is_empty());
    }
}
