//! Client certificates (`X509` input): a [`ProvenChain`] that leads to one of the instance's
//! trust anchors at the engine's clock time (see `engine::x509` for the trust itself), naming
//! a user who is enabled and not an administrator of this STS.

use super::super::{Engine, EngineError, Instance, ProvenChain};
use super::{Principal, PrincipalSource};

impl Engine {
    /// A proven client certificate chain to a principal of the instance's realm.
    pub(super) fn x509(
        &self,
        instance: &Instance,
        chain: &ProvenChain,
    ) -> Result<Principal, EngineError> {
        let fail = |m: &str| EngineError::refused(format!("X.509: {m}"));
        let trust = instance
            .x509_trust
            .as_ref()
            .ok_or_else(|| fail("this instance trusts no certificate authority"))?;
        let name = trust
            .principal(chain.chain(), self.clock.now())
            .map_err(|m| fail(&m))?;
        self.known_principal(instance, &name, PrincipalSource::X509, fail)
    }
}
