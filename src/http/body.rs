//! Request bodies: read whole, bounded in size and time, and only under an admission permit.

use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use warp::Filter;
use warp::http::HeaderMap;

use super::Peer;
use super::admission::{Admission, Refused};

/// A request, read whole, as the front ends see it.
pub struct Request {
    /// The request's id (`X-Request-Id`), for log lines and audit events.
    pub request_id: String,
    pub method: warp::http::Method,
    /// The path after the route's prefix.
    pub tail: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
    pub peer: Peer,
}

/// The whole body, and the permit the request holds until its reply is ready.
pub(super) struct Admitted {
    pub(super) permit: tokio::sync::OwnedSemaphorePermit,
    pub(super) body: bytes::Bytes,
}

/// Admits the request, then reads its body up to `max_body_bytes` (with or without
/// Content-Length; a declared or actual size beyond it stops reading at once) within
/// `body_read_timeout`. A request with no permit left is refused at once, its body unread,
/// so that bodies being received count: memory for bodies stays below about
/// `max_in_flight * max_body_bytes` however many clients send slowly.
pub(super) fn admitted_body(
    admission: Admission,
) -> impl Filter<Extract = (Result<Admitted, Refused>,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .then(move |len: Option<u64>, stream| {
            let admission = admission.clone();
            async move {
                let max = admission.max_body_bytes;
                if len.is_some_and(|l| l > max as u64) {
                    return Err(Refused::TooLarge(max));
                }
                let Ok(permit) = admission.in_flight.clone().try_acquire_owned() else {
                    return Err(Refused::Busy);
                };
                let limit = admission.body_read_timeout;
                // Room for the declared length at once: growing by doubling would need up to
                // twice the body while copying.
                let room = len.map_or(0, |l| usize::try_from(l).unwrap_or(max));
                let read = collect_body(stream, room, max);
                match tokio::time::timeout(limit, read).await {
                    Ok(Ok(body)) => Ok(Admitted { permit, body }),
                    Ok(Err(refused)) => Err(refused),
                    Err(_) => Err(Refused::TimedOut(limit.as_secs())),
                }
            }
        })
}

async fn collect_body<S, B>(stream: S, room: usize, max: usize) -> Result<bytes::Bytes, Refused>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut buf = BytesMut::with_capacity(room.min(max));
    while let Some(chunk) = stream.next().await {
        let Ok(mut chunk) = chunk else {
            return Err(Refused::Broken);
        };
        if buf.len() + chunk.remaining() > max {
            return Err(Refused::TooLarge(max));
        }
        while chunk.has_remaining() {
            let c = chunk.chunk();
            let n = c.len();
            buf.extend_from_slice(c);
            chunk.advance(n);
        }
    }
    Ok(buf.freeze())
}

/// The request's `Content-Encoding` when it is anything but identity. Bodies are read as
/// they arrive and never decompressed (no decompression bombs, no second size bound to keep),
/// so every route refuses such a request with 415 instead of parsing compressed bytes.
pub fn unsupported_content_encoding(headers: &HeaderMap) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(warp::http::header::CONTENT_ENCODING)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let all = values.join(", ");
    let plain = all
        .split(',')
        .map(str::trim)
        .all(|c| c.is_empty() || c.eq_ignore_ascii_case("identity"));
    (!plain).then(|| all.trim().chars().take(64).collect())
}
