//! Replies: a finished [`HttpReply`], and an [`Outcome`] that withholds it until the durable
//! write of an issued token has settled.

use warp::http::{Response, StatusCode};

/// A finished HTTP reply.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub set_cookie: Option<String>,
    /// Further response headers (e.g. `WWW-Authenticate`, `Cache-Control`).
    pub headers: Vec<(&'static str, String)>,
}

impl HttpReply {
    /// A JSON reply.
    pub fn json(status: u16, body: &serde_json::Value) -> HttpReply {
        HttpReply::text(status, "application/json", body.to_string())
    }

    /// A reply of `content_type`, without cookie or further headers.
    pub fn text(status: u16, content_type: &'static str, body: String) -> HttpReply {
        HttpReply {
            status,
            content_type,
            body,
            set_cookie: None,
            headers: Vec::new(),
        }
    }

    /// The connection is closed after this reply (its request body was not read to the end).
    pub fn closing(mut self) -> HttpReply {
        self.headers.push(("connection", "close".into()));
        self
    }
}

impl warp::Reply for HttpReply {
    fn into_response(self) -> warp::reply::Response {
        let mut r = Response::new(self.body.into());
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Ok(v) = warp::http::HeaderValue::from_str(self.content_type) {
            r.headers_mut().insert(warp::http::header::CONTENT_TYPE, v);
        }
        if let Some(c) = self
            .set_cookie
            .and_then(|c| warp::http::HeaderValue::from_str(&c).ok())
        {
            r.headers_mut().insert(warp::http::header::SET_COOKIE, c);
        }
        for (name, value) in self.headers {
            if let Ok(v) = warp::http::HeaderValue::from_str(&value) {
                r.headers_mut()
                    .insert(warp::http::HeaderName::from_static(name), v);
            }
        }
        r
    }
}

/// A reply that may wait for the durable write of an issued token: `reply` is sent only once
/// the write resolves; if it fails, the fallback is built (and logged) then, and sent instead.
pub struct Outcome {
    pub reply: HttpReply,
    pub pending: Option<(crate::store::Durable, Fallback)>,
}

/// The reply for a token that could not be stored, built only when that happens, from why.
pub type Fallback = Box<dyn FnOnce(crate::store::StoreError) -> HttpReply + Send>;

impl From<HttpReply> for Outcome {
    fn from(reply: HttpReply) -> Outcome {
        Outcome {
            reply,
            pending: None,
        }
    }
}

impl Outcome {
    /// Awaits the pending write, off the CPU threads, and picks the reply.
    pub async fn settle(self) -> HttpReply {
        let Some((durable, if_lost)) = self.pending else {
            return self.reply;
        };
        let timed = crate::metrics::time(crate::metrics::Stage::StoreCommit);
        let written = durable.done().await;
        drop(timed);
        match written {
            Ok(()) => self.reply,
            Err(e) => {
                tracing::error!(error = %e, "an issued token could not be stored; the token is withheld");
                if_lost(e)
            }
        }
    }
}
