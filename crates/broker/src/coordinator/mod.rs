//! Coordinators: the group coordinator today; the transaction coordinator arrives with issue 6.
pub mod group;
