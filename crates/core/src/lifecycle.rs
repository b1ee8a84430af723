//! The life of a request as an explicit state machine. Every change of state goes through
//! [`RequestStatus::transition`], which refuses a move the process does not allow.
//!
//! ```text
//! received -> in_review -> clarification_requested <-> in_review -> decided -> producing
//!          -> delivered -> closed
//! withdrawn, rejected and redirected end a request before it is decided.
//! ```

use crate::named_enum;

named_enum! {
    pub enum RequestStatus ("status") {
        Received = "received",
        InReview = "in_review",
        ClarificationRequested = "clarification_requested",
        Decided = "decided",
        Producing = "producing",
        Delivered = "delivered",
        Closed = "closed",
        Withdrawn = "withdrawn",
        Rejected = "rejected",
        Redirected = "redirected",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {from} cannot become {to}{hint}")]
pub struct IllegalTransition {
    pub from: RequestStatus,
    pub to: RequestStatus,
    hint: String,
}

impl RequestStatus {
    /// The states this one may move to.
    pub fn next_states(self) -> &'static [RequestStatus] {
        use RequestStatus::*;
        match self {
            Received => &[InReview, Withdrawn, Rejected, Redirected],
            InReview => &[
                ClarificationRequested,
                Decided,
                Withdrawn,
                Rejected,
                Redirected,
            ],
            ClarificationRequested => &[InReview, Withdrawn, Rejected],
            // A decision that withholds everything, or a preservation, has nothing to produce.
            Decided => &[Producing, Closed, Withdrawn],
            Producing => &[Delivered],
            Delivered => &[Closed],
            Closed | Withdrawn | Rejected | Redirected => &[],
        }
    }

    pub fn can_become(self, next: RequestStatus) -> bool {
        self.next_states().contains(&next)
    }

    /// Moves to `next`, or explains why the move is not allowed.
    pub fn transition(self, next: RequestStatus) -> Result<RequestStatus, IllegalTransition> {
        if self.can_become(next) {
            return Ok(next);
        }
        let allowed = self.next_states();
        let hint = if allowed.is_empty() {
            format!(" ({self} is final)")
        } else {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            format!(" (from {self} it may become: {})", names.join(", "))
        };
        Err(IllegalTransition {
            from: self,
            to: next,
            hint,
        })
    }

    /// Still awaiting the provider or the agency.
    pub fn is_open(self) -> bool {
        !self.next_states().is_empty()
    }

    /// The agency may still withdraw it.
    pub fn is_withdrawable(self) -> bool {
        self.can_become(RequestStatus::Withdrawn)
    }
}

#[cfg(test)]
mod tests {
    use super::RequestStatus::*;
    use super::*;

    #[test]
    fn the_main_path_is_allowed() {
        let path = [
            Received,
            InReview,
            ClarificationRequested,
            InReview,
            Decided,
            Producing,
            Delivered,
            Closed,
        ];
        for w in path.windows(2) {
            assert_eq!(w[0].transition(w[1]), Ok(w[1]));
        }
    }

    #[test]
    fn illegal_moves_are_refused_with_a_reason() {
        let err = Received.transition(Delivered).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a request that is received cannot become delivered \
             (from received it may become: in_review, withdrawn, rejected, redirected)"
        );
        let err = Closed.transition(InReview).unwrap_err();
        assert!(err.to_string().contains("closed is final"));
        assert!(Producing.transition(Withdrawn).is_err());
        assert!(Rejected.transition(InReview).is_err());
    }

    #[test]
    fn only_final_states_are_closed_to_change() {
        for s in RequestStatus::ALL {
            let final_state = matches!(s, Closed | Withdrawn | Rejected | Redirected);
            assert_eq!(s.is_open(), !final_state, "{s}");
        }
    }
}
