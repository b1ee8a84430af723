//! The mails custody sends: the customer's notice, and the reviewer's reminders. Plain text;
//! they name the request and the account id, never the customer's other data.

use chrono::{DateTime, Utc};
use custodian_core::DataCategory;
use custodian_store::custody::HoldRecord;
use custodian_store::{NewMail, RequestRecord};

use crate::CustodySettings;

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

pub(crate) fn category_words(c: DataCategory) -> &'static str {
    match c {
        DataCategory::Subscriber => {
            "subscriber information (name, contact details, addresses, payment methods as masked, \
             when the account was opened and the services it uses)"
        }
        DataCategory::Transactional => {
            "transactional records (orders, devices registered to the account, sign-ins and the \
             network addresses they came from)"
        }
        DataCategory::Content => {
            "the contents of files stored in the account (documents, photos, videos, voice \
             recordings)"
        }
    }
}

/// What the customer is told.
pub(crate) struct NoticeFacts<'a> {
    pub request: &'a RequestRecord,
    pub agency: &'a str,
    pub account: &'a str,
    pub disclosed: &'a [DataCategory],
    /// Not before this time is anything disclosed (a notice before disclosure).
    pub not_before: Option<DateTime<Utc>>,
    pub link: String,
}

pub(crate) fn customer_notice(s: &CustodySettings, f: &NoticeFacts<'_>, to: &str) -> NewMail {
    let r = f.request;
    let mut body = format!(
        "{provider} received legal process from a government agency asking for information \
         about your account {account}.\n\n\
         Agency: {agency}\n\
         Legal process: {process}\n\
         Our reference: {number}\n\
         Received: {received}\n\n",
        provider = s.provider,
        account = f.account,
        agency = f.agency,
        process = r.process.label(),
        number = r.number,
        received = day(r.received_at),
    );
    if f.disclosed.is_empty() {
        body.push_str("Nothing is disclosed.\n\n");
    } else {
        body.push_str("What is disclosed:\n");
        for c in f.disclosed {
            body.push_str(&format!("- {}\n", category_words(*c)));
        }
        body.push('\n');
    }
    match f.not_before {
        Some(t) => body.push_str(&format!(
            "Nothing will be disclosed before {}. If you wish to object, you may seek relief \
             from a court before then; we are not able to give you legal advice.\n\n",
            day(t)
        )),
        None => body.push_str(
            "We are telling you now because the law, a court order or the circumstances of the \
             request did not allow us to tell you earlier.\n\n",
        ),
    }
    body.push_str(&format!(
        "The details of the request are on this page (no sign-in needed; keep the link to \
         yourself):\n{}\n\n{}\n",
        f.link, s.provider
    ));
    NewMail {
        kind: "customer_notice".into(),
        recipient: to.to_string(),
        subject: format!("Legal process concerning your account {}", f.account),
        body_text: body,
        request_id: Some(r.id),
        send_after: None,
    }
}

pub(crate) fn hold_reminder(
    s: &CustodySettings,
    request: &RequestRecord,
    hold: &HoldRecord,
    to: &str,
) -> NewMail {
    let renewal = if hold.renewals < hold.terms.max_renewals {
        format!(
            "It may be renewed once, by {} days, if the agency asks: POST \
             {}/api/v1/custody/holds/{}/renew.",
            hold.terms.renewal_days, s.public_url, hold.id
        )
    } else {
        "It was renewed already and cannot be renewed again; the data is kept longer only \
         under legal process."
            .to_string()
    };
    NewMail {
        kind: "hold_reminder".into(),
        recipient: to.to_string(),
        subject: format!(
            "Legal hold on {} ends on {}",
            request.number,
            day(hold.expires_at)
        ),
        body_text: format!(
            "The legal hold {} on {} ({}) ends on {}. When it ends, its copy of the customer \
             data ({} accounts, {} files) is deleted.\n\n{}\n\nRequest: {}/api/v1/custody/requests/{}/holds\n",
            hold.id,
            request.number,
            request.process.label(),
            day(hold.expires_at),
            hold.accounts,
            hold.files,
            renewal,
            s.public_url,
            request.id
        ),
        request_id: Some(request.id),
        send_after: None,
    }
}

pub(crate) fn order_review(s: &CustodySettings, request: &RequestRecord, to: &str) -> NewMail {
    NewMail {
        kind: "ndo_review".into(),
        recipient: to.to_string(),
        subject: format!(
            "Review the non-disclosure order on {}",
            request.number
        ),
        body_text: format!(
            "The non-disclosure order on {} ({}) has no end date, so the customer has not been \
             told. It is due for its review: ask the agency whether the order still runs, then \
             record the answer:\n\n\
             POST {}/api/v1/custody/requests/{}/notice/order\n\
             {{\"order\": \"continues\"}}  reviewed again in a year\n\
             {{\"order\": \"ends\", \"last_day\": \"YYYY-MM-DD\"}}  the customer is told the next day\n\
             {{\"order\": \"lifted\"}}  the customer is told now\n",
            request.number,
            request.process.label(),
            s.public_url,
            request.id
        ),
        request_id: Some(request.id),
        send_after: None,
    }
}
