//! From a `postgres://` URL to connections: the password (URL, `STS_STORE_PASSWORD` or a file,
//! never logged), TLS to the database (`sslmode`, `sslrootcert`) and the timeouts that keep
//! a dead or unreachable server from hanging a request.

use std::str::FromStr;
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres::Client;
use postgres_openssl::MakeTlsConnector;

use crate::store::{StoreError, StoreOptions};

/// How the connection to the database is protected (libpq's `sslmode` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    /// TLS if the server offers it, unverified.
    Prefer,
    /// TLS, unverified (verified against `sslrootcert` if given, as libpq does).
    Require,
    /// TLS, the chain verified, not the host name.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

/// Everything needed to open one more connection.
#[derive(Clone)]
pub(super) struct Connector {
    cfg: postgres::Config,
    tls: Option<MakeTlsConnector>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector")
    }
}

impl Connector {
    /// Parses the URL; `wait` bounds connecting (and a dead peer is noticed within it too).
    pub(super) fn new(url: &str, opts: &StoreOptions) -> Result<Connector, StoreError> {
        let bad = |m: &str| StoreError::Url(format!("{}: {m}", redact_url(url)));
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = SslMode::Prefer;
        let mut root = None;
        // Other parameters go to the driver as written (re-encoding would change them).
        let mut rest = Vec::new();
        for raw in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = raw.split_once('=').unwrap_or((raw, ""));
            let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
            match k {
                "sslmode" => {
                    mode = match &*v {
                        "disable" => SslMode::Disable,
                        "prefer" | "allow" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        _ => {
                            return Err(bad(
                                "sslmode must be disable, prefer, require, verify-ca or verify-full",
                            ));
                        }
                    }
                }
                "sslrootcert" => root = Some(v.into_owned()),
                _ => rest.push(raw),
            }
        }
        let rest = rest.join("&");
        let plain = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{rest}")
        };
        let mut cfg = postgres::Config::from_str(&plain).map_err(|e| bad(&e.to_string()))?;
        if cfg.get_password().is_none()
            && let Some(p) = &opts.password
        {
            cfg.password(p.expose().as_bytes());
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("sts");
        }
        let wait = opts.wait.max(Duration::from_millis(100));
        cfg.connect_timeout(wait)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            // Unacknowledged data for this long means the server is gone: fail, do not hang.
            .tcp_user_timeout(Duration::from_secs(15));
        let tls = match mode {
            SslMode::Disable => {
                cfg.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            _ => {
                cfg.ssl_mode(if mode == SslMode::Prefer {
                    postgres::config::SslMode::Prefer
                } else {
                    postgres::config::SslMode::Require
                });
                Some(tls(mode, root.as_deref()).map_err(|e| bad(&e))?)
            }
        };
        Ok(Connector { cfg, tls })
    }

    pub(super) fn connect(&self) -> Result<Client, postgres::Error> {
        super::pool::off_runtime(|| match &self.tls {
            None => self.cfg.connect(postgres::NoTls),
            Some(t) => self.cfg.connect(t.clone()),
        })
    }
}

fn tls(mode: SslMode, root: Option<&str>) -> Result<MakeTlsConnector, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    let verify = match mode {
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        SslMode::Require => root.is_some(),
        SslMode::Disable | SslMode::Prefer => false,
    };
    if let Some(path) = root {
        b.set_ca_file(path)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    } else if verify {
        b.set_default_verify_paths().map_err(|e| e.to_string())?;
    }
    b.set_verify(if verify {
        SslVerifyMode::PEER
    } else {
        SslVerifyMode::NONE
    });
    let mut c = MakeTlsConnector::new(b.build());
    let full = mode == SslMode::VerifyFull;
    c.set_callback(move |cfg, _domain| {
        cfg.set_verify_hostname(full);
        Ok(())
    });
    Ok(c)
}

/// The URL with any password replaced by `***`: the form that may be logged or shown.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://sts:s3cr:et@db:5432/sts?sslmode=require"),
            "postgres://sts:***@db:5432/sts?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://sts@db/sts"),
            "postgres://sts@db/sts"
        );
        assert_eq!(redact_url("sqlite:///x/y.db"), "sqlite:///x/y.db");
    }

    #[test]
    fn ssl_modes_and_bad_urls() {
        let o = StoreOptions::default();
        for ok in [
            "postgres://u@h/db",
            "postgres://u@h:5433/db?sslmode=disable",
            "postgres://u@h/db?sslmode=require&connect_timeout=3",
            "postgres://u@h/db?sslmode=verify-full",
        ] {
            assert!(Connector::new(ok, &o).is_ok(), "{ok}");
        }
        let e = Connector::new("postgres://u:pw@h/db?sslmode=bogus", &o).unwrap_err();
        assert!(!e.to_string().contains("pw@"), "{e}");
        assert!(Connector::new("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent", &o).is_err());
    }
}
