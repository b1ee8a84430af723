//! Letters to agencies: what the provider sends when it rejects, redirects or objects. Plain
//! text generated from the request and the reviewer's reason, so every agency gets the same
//! clear account of what happened and what to do next.

use crate::LegalProcess;

/// The facts a letter refers to.
pub struct LetterContext<'a> {
    pub number: &'a str,
    pub agency: &'a str,
    pub process: LegalProcess,
    pub case_reference: Option<&'a str>,
}

fn heading(ctx: &LetterContext<'_>, subject: &str) -> String {
    let case = ctx
        .case_reference
        .map(|c| format!(" (your reference {c})"))
        .unwrap_or_default();
    format!(
        "To: {agency}\nRe: {number}{case}, {process}\nSubject: {subject}\n\n",
        agency = ctx.agency,
        number = ctx.number,
        process = ctx.process.label(),
    )
}

const SIGNATURE: &str =
    "\n\nLaw Enforcement Response Team\n(sent through Custodian; reply on the request's page)\n";

/// The outcome of a device return (`routes::device_return`): the owner was contacted, or the
/// device is not known. Nothing about the owner.
pub fn device_return_outcome(ctx: &LetterContext<'_>, outcome: &str) -> String {
    format!("{}{outcome}{SIGNATURE}", heading(ctx, "Device return"))
}

/// A rejection, with the reviewer's reason and how to serve valid process.
pub fn rejection(ctx: &LetterContext<'_>, reason: &str) -> String {
    format!(
        "{}We have reviewed the legal process referenced above and cannot act on it.\n\n\
         Reason: {}\n\n\
         No data has been disclosed. If you serve valid, binding legal process that names the \
         specific accounts or identifiers concerned, through the law enforcement portal, we will \
         review it promptly.{}",
        heading(ctx, "Request declined"),
        reason.trim(),
        SIGNATURE
    )
}

/// The MLAT guidance for a non-US authority that served process directly.
pub fn redirect_to_mlat(ctx: &LetterContext<'_>) -> String {
    format!(
        "{}We have received your request. As a United States provider we can disclose the \
         contents of communications and most other customer records only in response to US \
         legal process. Requests from authorities outside the United States must be made \
         through a Mutual Legal Assistance Treaty (MLAT) or letters rogatory, transmitted \
         through the US Department of Justice, Office of International Affairs (OIA), which \
         obtains the appropriate US process on your behalf.\n\n\
         Please contact your country's central authority for mutual legal assistance, which \
         will forward the request to OIA:\n{oia}\n\nWhere an EU production or preservation order applies, \
         it may be served through the e-Evidence system instead; a UK authority may serve an \
         order under the US-UK CLOUD Act agreement.\n\n\
         If there is a danger of death or serious physical injury, use the emergency request \
         form on the portal.\n\n\
         No data has been disclosed.{}",
        heading(ctx, "Please use the mutual legal assistance route"),
        SIGNATURE,
        oia = crate::routes::foreign_direct::OIA_CONTACT,
    )
}

/// An objection that the demand is overbroad, asking the agency to narrow it.
pub fn objection_overbroad(ctx: &LetterContext<'_>, reason: &str) -> String {
    format!(
        "{}We object to the request as overbroad and will not answer it as served.\n\n\
         {}\n\n\
         Please narrow the request to the specific accounts, devices or identifiers concerned \
         and the period relevant to your investigation, and reply on the request's page.{}",
        heading(ctx, "Objection: request overbroad"),
        reason.trim(),
        SIGNATURE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_name_the_request_and_the_reason() {
        let ctx = LetterContext {
            number: "LE-2026-000042",
            agency: "Landeskriminalamt Berlin",
            process: LegalProcess::ForeignDirect,
            case_reference: Some("ST-123"),
        };
        let r = rejection(&ctx, "The order is unsigned.");
        assert!(r.contains("LE-2026-000042 (your reference ST-123)"));
        assert!(r.contains("Reason: The order is unsigned."));
        let m = redirect_to_mlat(&ctx);
        assert!(m.contains("Office of International Affairs"));
        assert!(m.contains("Mutual Legal Assistance Treaty"));
        let o = objection_overbroad(&ctx, "It asks for every customer in Berlin.");
        assert!(o.contains("every customer in Berlin"));
    }
}
