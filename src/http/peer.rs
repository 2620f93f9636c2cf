//! The other end of a connection.

use std::sync::Arc;

use warp::Filter;
use warp::http::HeaderMap;

use crate::net::TrustedProxies;

/// The other end of a connection: its address, and the certificate chain (DER, leaf first)
/// it presented in this server's TLS handshake, if any. The TLS listener puts one in each
/// request's extensions; on plain HTTP it is built from the remote address.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub addr: Option<std::net::SocketAddr>,
    pub tls_chain: Option<Arc<Vec<Vec<u8>>>>,
}

impl Peer {
    /// The client's address, for lockout and throttling: the TCP peer, or the client a
    /// trusted proxy names in `X-Forwarded-For`.
    pub fn client_ip(
        &self,
        proxies: &TrustedProxies,
        headers: &HeaderMap,
    ) -> Option<std::net::IpAddr> {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>();
        proxies.client(self.addr.map(|a| a.ip()), forwarded.into_iter())
    }
}

/// The request's [`Peer`].
pub fn peer() -> impl Filter<Extract = (Peer,), Error = std::convert::Infallible> + Clone {
    warp::addr::remote()
        .and(warp::ext::optional::<Peer>())
        .map(|addr, peer: Option<Peer>| {
            peer.unwrap_or(Peer {
                addr,
                tls_chain: None,
            })
        })
}
