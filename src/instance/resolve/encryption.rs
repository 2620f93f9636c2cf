//! The encryption of an instance's assertions, and the relying party's certificate that
//! symmetric proof keys are encrypted to (`saml2-encryption-key-alias`, a certificate in
//! keys/). Which parts are encrypted, and the cipher, were checked by validation.

use std::sync::Arc;

use crate::crypto::Certificate;
use crate::instance::Saml2Config;
use crate::keyring::Keyring;
use crate::tokens::saml2::Encryption;
use crate::tokens::xmlenc::{BlockCipher, Encrypter};

/// What of the instance's assertions is encrypted, and to whom; `None` when nothing is.
pub(super) fn resolve(
    s: &Saml2Config,
    keys: &Keyring,
    problems: &mut Vec<String>,
) -> Option<Encryption> {
    if !(s.encrypt_assertion || s.encrypt_attributes || s.encrypt_nameid) {
        return None;
    }
    // A refused cipher or a missing alias was reported by validation.
    let cipher = BlockCipher::from_config(
        s.encryption_algorithm.as_deref(),
        s.encryption_algorithm_strength,
    )
    .ok()?;
    let alias = s
        .encryption_key_alias
        .as_deref()
        .filter(|a| !a.is_empty())?;
    let Some(cert) = keys.certificates.get(alias) else {
        problems.push(format!(
            "saml2-config.saml2-encryption-key-alias `{alias}` names no certificate in keys/ ({alias}.crt.pem)"
        ));
        return None;
    };
    match Encrypter::new(cipher, cert.clone()) {
        Ok(encrypter) => Some(Encryption {
            encrypter,
            assertion: s.encrypt_assertion,
            attributes: s.encrypt_attributes,
            name_id: s.encrypt_nameid,
        }),
        Err(e) => {
            problems.push(format!("saml2-config.saml2-encryption-key-alias: {e}"));
            None
        }
    }
}

/// The relying party's certificate, if keys/ has it. Not an error when absent: OpenAM
/// exports often name an alias nobody uses; the certificate is required only when a
/// symmetric proof key is asked for.
pub(super) fn relying_party(s: &Saml2Config, keys: &Keyring) -> Option<Arc<Certificate>> {
    s.encryption_key_alias
        .as_deref()
        .and_then(|a| keys.certificates.get(a).cloned())
}
