//! What a renewal checks beyond the token itself (issue 18, found by review): its subject may
//! still have tokens now; a token and its renewals live at most the instance's
//! `saml2-renew-max-age-seconds` in all; and a request's `wst:Renewing` only tightens what the
//! token was issued with.

use chrono::{DateTime, Duration, Utc};

use super::super::authn::SubjectOrigin;
use super::super::{Engine, EngineError, ResolvedInstance};
use super::rewrite::{Original, RenewSemantics};
use crate::store::TokenRecord;
use crate::xml::Element;
use crate::xml::ns::{
    AC_PASSWORD, AC_PASSWORD_PROTECTED_TRANSPORT, AM1_PASSWORD, SAML1, SAML2,
};

impl Original {
    fn saml_ns(&self) -> &'static [&'static str] {
        if self.saml1 { &[SAML1] } else { &[SAML2] }
    }

    /// The authentication statement (SAML 2.0 `AuthnStatement`, SAML 1.1
    /// `AuthenticationStatement`).
    fn authn_statement(&self) -> Option<&Element> {
        let local = if self.saml1 {
            "AuthenticationStatement"
        } else {
            "AuthnStatement"
        };
        self.root.child(self.saml_ns(), local)
    }

    /// The subject's name, None when it cannot be read (an encrypted `NameID`).
    pub(super) fn subject_name(&self) -> Option<String> {
        let subject = if self.saml1 {
            self.root
                .elements()
                .find_map(|st| st.child(&[SAML1], "Subject"))?
                .child(&[SAML1], "NameIdentifier")?
        } else {
            self.root
                .child(&[SAML2], "Subject")?
                .child(&[SAML2], "NameID")?
        };
        Some(subject.text()).filter(|n| !n.is_empty())
    }

    /// When the subject was authenticated for the first token of its chain of renewals: the
    /// issue path writes the issue instant there, and a renewal keeps it.
    pub(super) fn authn_instant(&self) -> Option<DateTime<Utc>> {
        let name = if self.saml1 {
            "AuthenticationInstant"
        } else {
            "AuthnInstant"
        };
        crate::xml::datetime::parse_datetime(self.authn_statement()?.attr(None, name)?)
    }

    /// How the subject was authenticated, read from the authentication method alone: a
    /// password checked by this STS (directly or through a session) makes it this STS's own
    /// user, whose account must still exist; anything else (a certificate, another party's
    /// assertion) makes it vouched for. A delegation does not change who the subject is: with
    /// ActAs the subject is the identity the ActAs token named and this STS authenticated (its
    /// password, when the method says so), and the requester is only its actor, so a SAML 2.0
    /// `del:Delegate` and SAML 1.1's `actor` attribute leave the origin as the method says,
    /// and both versions agree.
    pub(super) fn origin(&self) -> SubjectOrigin {
        let method = if self.saml1 {
            self.authn_statement()
                .and_then(|s| s.attr(None, "AuthenticationMethod"))
                .map(str::to_owned)
        } else {
            self.authn_statement()
                .and_then(|s| s.child(&[SAML2], "AuthnContext"))
                .and_then(|c| c.child(&[SAML2], "AuthnContextClassRef"))
                .map(Element::text)
        };
        let password = method.as_deref().is_some_and(|m| {
            [AC_PASSWORD, AC_PASSWORD_PROTECTED_TRANSPORT, AM1_PASSWORD].contains(&m.trim())
        });
        if password {
            SubjectOrigin::OwnUser
        } else {
            SubjectOrigin::Vouched
        }
    }
}

impl Engine {
    /// The subject's account, now: disabled, locked in the directory, or (a user this STS
    /// authenticated) deleted refuses the renewal. The name is the stored record's when the
    /// instance persists, else the assertion's; one that cannot be read (encrypted for the
    /// relying party, and not stored) cannot be checked, so it is not renewed.
    pub(super) fn check_subject_now(
        &self,
        instance: &ResolvedInstance,
        original: &Original,
        record: Option<&TokenRecord>,
    ) -> Result<(), EngineError> {
        let (realm, name) = match record {
            Some(rec) => (rec.realm.clone(), rec.principal.clone()),
            None => (
                instance.config.realm().to_owned(),
                original.subject_name().ok_or_else(|| {
                    EngineError::CannotRenew(
                        "the token's subject cannot be read (encrypted), so its account cannot be checked: a persisting instance renews such a token".into(),
                    )
                })?,
            ),
        };
        self.subject_standing(instance, &realm, &name, original.origin())
    }
}

/// The end of the token's chain of renewals: its first authentication plus `max_age_secs`.
/// Refused (`CannotRenew`) at or past it, and when the assertion says no authentication
/// instant to count from.
pub(super) fn renewal_deadline(
    original: &Original,
    max_age_secs: u64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, EngineError> {
    let first = original.authn_instant().ok_or_else(|| {
        EngineError::CannotRenew(
            "the token has no readable authentication instant to count its age from".into(),
        )
    })?;
    let max_age = Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX / 2_000));
    let deadline = first + max_age;
    if now >= deadline {
        return Err(EngineError::CannotRenew(format!(
            "the token was first issued at {}, longer ago than this instance renews ({max_age_secs} s, saml2-renew-max-age-seconds): authenticate again",
            crate::xml::datetime::saml_datetime(first)
        )));
    }
    Ok(deadline)
}

/// For a token of this STS re-issued by Validate to a new token (already verified): the
/// `AuthnInstant` of its assertion, which the new one keeps, refused past the instance's
/// `saml2-renew-max-age-seconds` as a renewal is, so that alternating transforms cannot keep a
/// token alive longer than renewals can. Not an assertion (an id_token): `None`.
pub(in crate::engine) fn first_authentication(
    instance: &ResolvedInstance,
    xml: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, EngineError> {
    let Some(original) = Original::parse(xml) else {
        return Ok(None);
    };
    let max_age = instance.config.saml2().map_or(
        crate::instance::model::DEFAULT_RENEW_MAX_AGE_SECS,
        |c| c.renew_max_age_seconds,
    );
    // Out of date for a re-issue (wst:ExpiredData), as Validate words it.
    renewal_deadline(&original, max_age, now).map_err(|e| match e {
        EngineError::CannotRenew(m) => EngineError::Expired(m),
        e => e,
    })?;
    Ok(original.authn_instant())
}

/// How the subject of `xml`, a SAML assertion this STS issued, was first authenticated (None:
/// not one this module reads).
pub(in crate::engine) fn subject_origin(xml: &[u8]) -> Option<SubjectOrigin> {
    Original::parse(xml).map(|o| o.origin())
}

/// The renew semantics of the renewed token: the request's when it states some that are not
/// looser than the token's, else the token's. A token without any follows the window alone,
/// which is as loose as `Allow="true" OK="true"`.
pub(super) fn renewed_semantics(
    issued: Option<RenewSemantics>,
    asked: Option<RenewSemantics>,
) -> Result<Option<RenewSemantics>, EngineError> {
    match (issued, asked) {
        (_, None) => Ok(None),
        (Some(was), Some(now)) if (now.allow && !was.allow) || (now.ok && !was.ok) => {
            Err(EngineError::CannotRenew(format!(
                "wst:Renewing Allow=\"{}\" OK=\"{}\" would loosen the token's Allow=\"{}\" OK=\"{}\": a renewal may only tighten them",
                now.allow, now.ok, was.allow, was.ok
            )))
        }
        (_, Some(now)) => Ok(Some(now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ns::SAML2_DELEGATION;

    fn sem(allow: bool, ok: bool) -> Option<RenewSemantics> {
        Some(RenewSemantics { allow, ok })
    }

    #[test]
    fn a_request_may_tighten_the_semantics_but_not_loosen_them() {
        assert_eq!(renewed_semantics(sem(true, false), None).unwrap(), None);
        assert_eq!(
            renewed_semantics(None, sem(true, true)).unwrap(),
            sem(true, true)
        );
        assert_eq!(
            renewed_semantics(sem(true, true), sem(false, false)).unwrap(),
            sem(false, false)
        );
        assert_eq!(
            renewed_semantics(sem(true, false), sem(true, false)).unwrap(),
            sem(true, false)
        );
        assert!(matches!(
            renewed_semantics(sem(true, false), sem(true, true)),
            Err(EngineError::CannotRenew(_))
        ));
        assert!(matches!(
            renewed_semantics(sem(false, true), sem(true, true)),
            Err(EngineError::CannotRenew(_))
        ));
    }

    fn original(xml: &str) -> Original {
        Original::parse(xml.as_bytes()).unwrap()
    }

    #[test]
    fn subject_origin_and_age_are_read_from_the_assertion() {
        let own = format!(
            "<a:Assertion xmlns:a=\"{SAML2}\"><a:Subject><a:NameID>alice</a:NameID></a:Subject><a:Conditions/><a:AuthnStatement AuthnInstant=\"2026-01-02T03:04:05Z\"><a:AuthnContext><a:AuthnContextClassRef>{AC_PASSWORD_PROTECTED_TRANSPORT}</a:AuthnContextClassRef></a:AuthnContext></a:AuthnStatement></a:Assertion>"
        );
        let o = original(&own);
        assert_eq!(o.subject_name().as_deref(), Some("alice"));
        assert_eq!(o.origin(), SubjectOrigin::OwnUser);
        let first = o.authn_instant().unwrap();
        assert_eq!(
            renewal_deadline(&o, 60, first + Duration::seconds(59)).unwrap(),
            first + Duration::seconds(60)
        );
        assert!(matches!(
            renewal_deadline(&o, 60, first + Duration::seconds(60)),
            Err(EngineError::CannotRenew(_))
        ));
        let acting = own.replace(
            "<a:Conditions/>",
            &format!("<a:Conditions><a:Condition><d:Delegate xmlns:d=\"{SAML2_DELEGATION}\"/></a:Condition></a:Conditions>"),
        );
        // ActAs: the subject the delegate acts for is still this STS's password-checked user.
        assert_eq!(original(&acting).origin(), SubjectOrigin::OwnUser);
        let acting_for_a_federated_subject = acting.replace(
            AC_PASSWORD_PROTECTED_TRANSPORT,
            "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
        );
        assert_eq!(
            original(&acting_for_a_federated_subject).origin(),
            SubjectOrigin::Vouched
        );
        let encrypted = own.replace("<a:NameID>alice</a:NameID>", "<a:EncryptedID/>");
        assert_eq!(original(&encrypted).subject_name(), None);
        let saml1 = format!(
            "<s:Assertion xmlns:s=\"{SAML1}\"><s:Conditions/><s:AuthenticationStatement AuthenticationMethod=\"{AM1_PASSWORD}\" AuthenticationInstant=\"2026-01-02T03:04:05Z\"><s:Subject><s:NameIdentifier>bob</s:NameIdentifier></s:Subject></s:AuthenticationStatement></s:Assertion>"
        );
        let o = original(&saml1);
        assert_eq!(o.subject_name().as_deref(), Some("bob"));
        assert_eq!(o.origin(), SubjectOrigin::OwnUser);
        assert_eq!(o.authn_instant(), Some(first));
        let x509 = saml1.replace(AM1_PASSWORD, crate::xml::ns::AM1_X509);
        assert_eq!(original(&x509).origin(), SubjectOrigin::Vouched);
        assert!(matches!(
            renewal_deadline(&original(&saml1.replace("AuthenticationInstant", "X")), 60, first),
            Err(EngineError::CannotRenew(_))
        ));
    }
}
