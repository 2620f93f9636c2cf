//! Validate to a new token (WS-Trust 1.3 section 9 lets a Validate return a new token; CXF's
//! STS transforms on Validate): a token of this STS that validates is re-issued as another
//! type the instance issues, when `supported-token-transforms` lists the pair. The new token
//! is issued for the validated token's subject, looked up in the instance's realm as any
//! party's vouched-for subject is (attributes from the directory now, not from the old token).

use std::collections::BTreeMap;

use super::super::{
    Engine, EngineError, IssueRequest, Issued, ResolvedInstance, TokenTarget, Validation,
};
use crate::instance::TokenType;

impl Engine {
    /// Validates `target` and, when it is valid, issues a token of type `output` for its
    /// subject. An invalid token gives the status and no token; a transform the instance does
    /// not list is refused.
    pub fn validate_to(
        &self,
        instance: &ResolvedInstance,
        target: &TokenTarget,
        output: TokenType,
        applies_to: Option<String>,
    ) -> Result<(Validation, Option<Issued>), EngineError> {
        let transforms = instance
            .config
            .soap()
            .map(|c| c.supported_token_transforms.as_slice())
            .unwrap_or_default();
        if !transforms.iter().any(|t| t.output == output) {
            return Err(EngineError::Unsupported(format!(
                "this instance's Validate returns a status, not {} tokens (supported-token-transforms lists none)",
                output.name()
            )));
        }
        let live = match self.check(instance, target)? {
            Ok(live) => live,
            Err(reason) => {
                return Ok((
                    Validation {
                        valid: false,
                        reason: reason.to_string(),
                    },
                    None,
                ));
            }
        };
        if !transforms
            .iter()
            .any(|t| t.output == output && t.input == live.token_type)
        {
            return Err(EngineError::Unsupported(format!(
                "{} to {} is not a supported token transform of this instance (supported-token-transforms)",
                live.token_type.name(),
                output.name()
            )));
        }
        let subject = live.subject.ok_or_else(|| {
            EngineError::Invalid("the validated token names no subject to issue for".into())
        })?;
        let principal =
            self.vouched_by_plugin(instance, &subject, BTreeMap::new(), |m: &str| {
                EngineError::refused(format!("the validated token's subject: {m}"))
            })?;
        let mut req = IssueRequest::new(output);
        req.applies_to = applies_to;
        let issued = self.issue(instance, &principal, &req)?;
        Ok((
            Validation {
                valid: true,
                reason: "the token is valid".into(),
            },
            Some(issued),
        ))
    }
}
