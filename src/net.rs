//! Client addresses behind reverse proxies: which peers are trusted to say who their client
//! is (`trusted_proxies`), and the client address they name in `X-Forwarded-For`.
//!
//! Nothing here trusts a header by default: with no trusted proxies, the client is the TCP
//! peer. A proxy's word is taken only when the connection comes from one, and only for the
//! hops it appended: the list is read right to left, skipping trusted proxies, and the first
//! address that is not one is the client (as nginx's `real_ip_recursive`). Anything the
//! client itself wrote further left is never believed.

use std::net::IpAddr;
use std::str::FromStr;

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.7`, as a dual-stack socket reports IPv4
/// peers) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(
            addr.trim()
                .parse::<IpAddr>()
                .map_err(|_| format!("`{s}` is not an IP address or network"))?,
        );
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list (the form of `STS_TRUSTED_PROXIES`).
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(IpNet::from_str)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request that came from `peer` with these `X-Forwarded-For` header
    /// values (in the order received). A peer that is not a trusted proxy is the client.
    /// Hops are read right to left up to the first that is not a trusted proxy; a hop that
    /// is not an address ends the walk at the last address read (a proxy appends valid
    /// addresses, so anything else was written by a client and names no one).
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>,
    ) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for value in forwarded_for.rev() {
            let Ok(value) = std::str::from_utf8(value) else {
                return Some(client);
            };
            for hop in value.rsplit(',') {
                let Ok(hop) = hop.trim().parse::<IpAddr>() else {
                    return Some(client);
                };
                client = canonical(hop);
                if !self.trusts(client) {
                    return Some(client);
                }
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(trusted: &str, peer: &str, xff: &[&str]) -> IpAddr {
        let t: TrustedProxies = trusted.parse().unwrap();
        t.client(Some(ip(peer)), xff.iter().map(|v| v.as_bytes()))
            .unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.200.3.4")) && !n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        let one: IpNet = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
        for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0.0/x", ""] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_trusted_proxies_are_believed_and_only_for_their_hops() {
        // No proxies trusted: the header is ignored.
        assert_eq!(
            client("", "198.51.100.1", &["203.0.113.5"]),
            ip("198.51.100.1")
        );
        // The peer is not a trusted proxy: ignored.
        assert_eq!(
            client("10.0.0.0/8", "198.51.100.1", &["203.0.113.5"]),
            ip("198.51.100.1")
        );
        // A trusted proxy names its client.
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["203.0.113.5"]),
            ip("203.0.113.5")
        );
        // A client's forged entries stand left of what the proxy appended: not believed.
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["1.2.3.4, 203.0.113.5"]),
            ip("203.0.113.5")
        );
        // Chained trusted proxies are skipped, over several header lines too.
        assert_eq!(
            client(
                "10.0.0.0/8",
                "10.0.0.2",
                &["1.2.3.4, 203.0.113.5", "10.9.9.9"]
            ),
            ip("203.0.113.5")
        );
        // Every hop trusted: the leftmost is the client.
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["10.1.1.1"]),
            ip("10.1.1.1")
        );
        // No header: the proxy itself.
        assert_eq!(client("10.0.0.0/8", "10.0.0.2", &[]), ip("10.0.0.2"));
        // Garbage a client wrote left of its address changes nothing...
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["unknown, 203.0.113.5"]),
            ip("203.0.113.5")
        );
        // ...and a hop that is no address ends the walk at the last one read.
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["203.0.113.5, unknown"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            client("10.0.0.0/8", "10.0.0.2", &["203.0.113.5, bogus, 10.3.3.3"]),
            ip("10.3.3.3")
        );
    }
}
