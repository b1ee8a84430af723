//! `/notice/{token}`: the page a customer's notice mail links to. No sign-in: the token in the
//! link is the key (random, 256 bits, kept only as its SHA-256). It says which agency asked,
//! for what, under which process, and what was (or will be) disclosed.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use custodian_custody::NoticeView;

use super::{page_error, render, when, Layout};
use crate::api::custody::custody;
use crate::AppState;

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    layout: Layout,
    v: NoticeView,
    received: String,
    asked: String,
    period: String,
    when: String,
}

pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let view = match custody(&state) {
        Ok(c) => c.notice_page(&token).await.map_err(Into::into),
        Err(e) => Err(e),
    };
    let v = match view {
        Ok(v) => v,
        Err(e) => return page_error(e),
    };
    let when_text = match (v.disclosed_at, v.not_before) {
        (Some(t), _) => format!("The records were handed to the agency on {}.", when(t)),
        (None, Some(t)) => format!(
            "Nothing will be disclosed before {}, so that you can go to court if you wish.",
            t.format("%Y-%m-%d")
        ),
        (None, None) if v.disclosed.is_empty() => String::new(),
        (None, None) => "The records have not been handed over yet.".to_string(),
    };
    let page = NoticePage {
        layout: Layout::anonymous("Notice of legal process", ""),
        received: v.received_at.format("%Y-%m-%d").to_string(),
        asked: v
            .categories_requested
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        period: v
            .date_range
            .map(|r| format!("{} to {}", r.from, r.to))
            .unwrap_or_default(),
        when: when_text,
        v,
    };
    render(&page)
}
