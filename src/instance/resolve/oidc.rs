//! How an instance signs its id_tokens (`oidc-id-token-config`): the JWS algorithm and key.
//! Names and the HMAC secret's presence were checked by validation.

use crate::crypto::KeyKind;
use crate::instance::OidcConfig;
use crate::instance::validate::jwk_in_header;
use crate::keyring::Keyring;
use crate::secret::Secret;
use crate::tokens::oidc::{JwsAlgorithm, JwsKey, JwsSigner};

use super::DefaultKeys;

/// The id_token signer; `None` when a problem was recorded (here or by validation).
pub(super) fn resolve(
    o: &OidcConfig,
    keys: &Keyring,
    default_keys: &DefaultKeys,
    problems: &mut Vec<String>,
) -> Option<JwsSigner> {
    let alg = JwsAlgorithm::from_name(&o.signature_algorithm)?;
    let key = match alg.key_kind() {
        None => JwsKey::Hmac(Secret::new(
            o.client_secret.as_ref()?.expose().as_bytes().to_vec(),
        )),
        Some(kind) => {
            let alias = o.signature_key_alias.as_deref().unwrap_or(match kind {
                KeyKind::Rsa => &default_keys.rsa,
                KeyKind::Ec => &default_keys.ec,
            });
            match keys.signing.get(alias) {
                Some(k) => JwsKey::Private(k.clone()),
                None => {
                    problems.push(format!(
                        "oidc-id-token-config.oidc-signature-key-alias `{alias}` names no key in keys/"
                    ));
                    return None;
                }
            }
        }
    };
    match JwsSigner::new(alg, key, jwk_in_header(o).unwrap_or(false)) {
        Ok(s) => Some(s),
        Err(e) => {
            problems.push(format!("oidc-id-token-config: {e}"));
            None
        }
    }
}
