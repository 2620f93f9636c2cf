//! `sts health`: a liveness (or, `--ready`, readiness) probe for supervisors without curl
//! (the container image's `HEALTHCHECK`): one GET, success only for HTTP 200, bounded in time.

use std::time::Duration;

use crate::config::Config;

use super::AnyError;

/// The URL probed when none is given: `path` on the loopback address of the configured
/// listener (its own address when it names one), over HTTPS when the server serves TLS.
pub(super) fn default_url(cfg: &Config, path: &str) -> String {
    let ip = match cfg.listen.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    };
    let scheme = if cfg.tls_cert_file.is_some() {
        "https"
    } else {
        "http"
    };
    format!(
        "{scheme}://{}{path}",
        std::net::SocketAddr::new(ip, cfg.listen.port())
    )
}

/// GETs `url`; Ok only when it answers 200 within `timeout`.
pub(super) fn health(url: &str, timeout: Duration) -> Result<(), AnyError> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        // The probe asks this host's own server, whatever proxy the environment names.
        .proxy(None)
        .user_agent(format!("sts-health/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let status = agent
        .get(url)
        .call()
        .map_err(|e| format!("{url}: {e}"))?
        .status();
    if status == 200 {
        say!("{url}: ok");
        Ok(())
    } else {
        Err(format!("{url}: HTTP {}", status.as_u16()).into())
    }
}
