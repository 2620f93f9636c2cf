//! The WS-Trust bindings (Issue, Validate, Cancel, Renew) and their action URIs, in WS-Trust
//! 1.3/1.4 and February 2005.

use crate::xml::ns::WST_ALL;

use super::TrustVersion;

/// The bindings of WS-Trust, named by their action suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Issue,
    Validate,
    Cancel,
    Renew,
}

impl Operation {
    const ALL: [Operation; 4] = [Self::Issue, Self::Validate, Self::Cancel, Self::Renew];

    /// Its `operation` label in the request metrics.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::Issue => "issue",
            Self::Validate => "validate",
            Self::Cancel => "cancel",
            Self::Renew => "renew",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Issue => "Issue",
            Self::Validate => "Validate",
            Self::Cancel => "Cancel",
            Self::Renew => "Renew",
        }
    }

    /// The response action. 1.3: `RSTRC/IssueFinal` for Issue, `RSTR/<Op>Final` otherwise;
    /// February 2005 has no final actions: `RSTR/<Op>`.
    pub fn response_action(self, v: TrustVersion) -> String {
        let ns = v.ns();
        match (v, self) {
            (TrustVersion::V2005, op) => format!("{ns}/RSTR/{}", op.name()),
            (_, Self::Issue) => format!("{ns}/RSTRC/IssueFinal"),
            (_, op) => format!("{ns}/RSTR/{}Final", op.name()),
        }
    }

    /// The `wst:RequestType` URI of this version (`.../Issue`).
    pub fn request_type_uri(self, v: TrustVersion) -> String {
        format!("{}/{}", v.ns(), self.name())
    }

    /// An action URI and the version its namespace is (the 200802 base counts as 1.4).
    pub fn versioned_action(action: &str) -> Option<(Operation, TrustVersion)> {
        Self::versioned(action.trim(), "/RST/")
    }

    /// A `wst:RequestType` URI and the version its namespace is.
    pub fn versioned_request_type(uri: &str) -> Option<(Operation, TrustVersion)> {
        Self::versioned(uri.trim(), "/")
    }

    /// A batch URI (`.../200512/BatchIssue`, WS-Trust 1.3 4.3): the RequestType of every RST
    /// in a `wst:RequestSecurityTokenCollection`, and the action of the message carrying it.
    /// February 2005 has no batch.
    pub fn versioned_batch(uri: &str) -> Option<(Operation, TrustVersion)> {
        Self::versioned(uri.trim(), "/Batch").filter(|(_, v)| *v != TrustVersion::V2005)
    }

    /// The batch URI of this operation (`.../200512/BatchIssue`).
    #[cfg(test)]
    pub fn batch_uri(self, v: TrustVersion) -> String {
        format!("{}/Batch{}", v.ns(), self.name())
    }

    /// The action of the RSTRC answering a batch. WS-Trust 1.3 names only the request's
    /// (the batch URI); the reply mirrors `RSTRC/IssueFinal`: `RSTRC/BatchIssueFinal`.
    pub fn batch_response_action(self, v: TrustVersion) -> String {
        format!("{}/RSTRC/Batch{}Final", v.ns(), self.name())
    }

    fn versioned(uri: &str, infix: &str) -> Option<(Operation, TrustVersion)> {
        WST_ALL.iter().find_map(|ns| {
            let name = uri.strip_prefix(ns)?.strip_prefix(infix)?;
            let op = Self::ALL.into_iter().find(|op| op.name() == name)?;
            Some((op, TrustVersion::of_ns(ns)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_request_types_round_trip() {
        for v in [TrustVersion::V13, TrustVersion::V2005] {
            for op in Operation::ALL {
                let action = format!("{}/RST/{}", v.ns(), op.name());
                assert_eq!(Operation::versioned_action(&action), Some((op, v)));
                assert_eq!(
                    Operation::versioned_request_type(&op.request_type_uri(v)),
                    Some((op, v))
                );
            }
        }
        assert_eq!(
            Operation::Issue.response_action(TrustVersion::V13),
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal"
        );
        assert_eq!(
            Operation::Cancel.response_action(TrustVersion::V14),
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTR/CancelFinal"
        );
        assert_eq!(
            Operation::Issue.response_action(TrustVersion::V2005),
            "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Issue"
        );
        assert_eq!(
            Operation::versioned_action("http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Renew"),
            Some((Operation::Renew, TrustVersion::V2005))
        );
        assert_eq!(
            Operation::versioned_request_type(
                "http://docs.oasis-open.org/ws-sx/ws-trust/200802/Issue"
            ),
            Some((Operation::Issue, TrustVersion::V14))
        );
        assert_eq!(Operation::versioned_action("urn:other"), None);
        let batch = Operation::Issue.batch_uri(TrustVersion::V13);
        assert_eq!(batch, "http://docs.oasis-open.org/ws-sx/ws-trust/200512/BatchIssue");
        assert_eq!(
            Operation::versioned_batch(&batch),
            Some((Operation::Issue, TrustVersion::V13))
        );
        assert_eq!(Operation::versioned_request_type(&batch), None);
        assert_eq!(
            Operation::versioned_batch("http://schemas.xmlsoap.org/ws/2005/02/trust/BatchIssue"),
            None
        );
        assert_eq!(
            Operation::Validate.batch_response_action(TrustVersion::V14),
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/BatchValidateFinal"
        );
        assert_eq!(
            Operation::versioned_action("http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issuex"),
            None
        );
    }
}
