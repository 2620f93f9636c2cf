//! The WS-Trust bindings (Issue, Validate, Cancel, Renew) and their action URIs.

use crate::xml::ns::{WST, WST_NSS};

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

    fn name(self) -> &'static str {
        match self {
            Self::Issue => "Issue",
            Self::Validate => "Validate",
            Self::Cancel => "Cancel",
            Self::Renew => "Renew",
        }
    }

    /// The response action: `RSTRC/IssueFinal` for Issue, `RSTR/<Op>Final` otherwise.
    pub fn response_action(self) -> String {
        match self {
            Self::Issue => format!("{WST}/RSTRC/IssueFinal"),
            op => format!("{WST}/RSTR/{}Final", op.name()),
        }
    }

    /// Recognises an action URI (`.../RST/Issue`) in either WS-Trust namespace.
    pub fn from_action(action: &str) -> Option<Operation> {
        let action = action.trim();
        Self::ALL.into_iter().find(|op| {
            WST_NSS
                .iter()
                .any(|ns| action == format!("{ns}/RST/{}", op.name()))
        })
    }

    /// Recognises a `wst:RequestType` URI (`.../200512/Issue`).
    pub fn from_request_type(uri: &str) -> Option<Operation> {
        Self::ALL.into_iter().find(|op| {
            WST_NSS
                .iter()
                .any(|ns| uri == format!("{ns}/{}", op.name()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_request_types_round_trip() {
        for op in Operation::ALL {
            let request_action = format!("{WST}/RST/{}", op.name());
            assert_eq!(Operation::from_action(&request_action), Some(op));
        }
        assert_eq!(
            Operation::Issue.response_action(),
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal"
        );
        assert_eq!(Operation::from_action("urn:other"), None);
    }
}
