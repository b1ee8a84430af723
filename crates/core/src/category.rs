//! Data categories (LEGAL.md, "Data categories").

use crate::named_enum;

named_enum! {
    /// What kind of customer data a demand reaches.
    pub enum DataCategory ("data category") {
        /// Name, address, e-mail, phone, billing details, account creation, service types.
        Subscriber = "subscriber",
        /// Purchases, usage, device records, access logs and IP addresses.
        Transactional = "transactional",
        /// The contents of stored files and media.
        Content = "content",
    }
}

impl DataCategory {
    pub fn is_content(self) -> bool {
        self == DataCategory::Content
    }
}
