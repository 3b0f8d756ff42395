//! The plain-text answers 1C understands: first line `success`, `progress` or `failure`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// One answer to 1C.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `success` plus informational lines.
    Success(Vec<String>),
    /// `progress` plus a status line: 1C repeats the same request.
    Progress(String),
    /// `failure` plus the reason shown to the 1C user.
    Failure(String),
    /// A body that is not a status answer (the `init` parameters).
    Raw(String),
    /// An XML document (the `query` answer) with its content type.
    Xml(Vec<u8>, &'static str),
}

impl Answer {
    /// `failure` with `reason`.
    pub fn failure(reason: impl Into<String>) -> Answer {
        Answer::Failure(reason.into())
    }

    /// `success` with one line.
    pub fn success(line: impl Into<String>) -> Answer {
        Answer::Success(vec![line.into()])
    }

    /// The body text (for logs and tests).
    pub fn text(&self) -> String {
        match self {
            Answer::Success(lines) => {
                let mut s = "success".to_string();
                for l in lines {
                    s.push('\n');
                    s.push_str(&one_line(l));
                }
                s
            }
            Answer::Progress(status) => format!("progress\n{}", one_line(status)),
            Answer::Failure(reason) => format!("failure\n{}", one_line(reason)),
            Answer::Raw(s) => s.clone(),
            Answer::Xml(bytes, _) => String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// A reason must not break the line protocol (1C reads line by line).
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        // Always 200: 1C shows the text after `failure`, but only reports
        // "unknown status" for other HTTP codes.
        match self {
            Answer::Xml(bytes, content_type) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type)],
                bytes,
            )
                .into_response(),
            other => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                other.text(),
            )
                .into_response(),
        }
    }
}
