//! Who a user is to Custodian. Agency roles act for one agency; provider roles act for the
//! provider and never belong to an agency.

use crate::named_enum;

named_enum! {
    pub enum Role ("role") {
        AgencyOfficer = "agency_officer",
        AgencySupervisor = "agency_supervisor",
        Reviewer = "reviewer",
        Approver = "approver",
        Custodian = "custodian",
        Admin = "admin",
        Auditor = "auditor",
    }
}

impl Role {
    pub fn is_agency_side(self) -> bool {
        matches!(self, Role::AgencyOfficer | Role::AgencySupervisor)
    }

    /// Roles that may open any agency's requests in the review console.
    pub fn sees_all_requests(self) -> bool {
        matches!(
            self,
            Role::Reviewer | Role::Approver | Role::Custodian | Role::Admin | Role::Auditor
        )
    }
}
