//! A validator or provider that is a web service: the STS POSTs JSON to its URL and reads
//! JSON back. Configured in `sts.toml` under `[http_validators.NAME]` / `[http_providers.NAME]`.
//!
//! Validator request: `{"realm", "instance", "token_type", "input_token_state"}`; answer
//! `{"principal": "...", "attributes": {"mail": ["..."]}, "extra_state": ...}` (only
//! `principal` is required).
//! Provider request: `{"realm", "instance", "principal", "attributes", "extra_state",
//! "input_token_type", "input_token_state", "output_token_type", "output_token_state"}`;
//! answer `{"token": "...", "expires_in": 600}` (`expires_in`, in seconds, is optional).
//! HTTP 400, 401 or 403 refuses the token or request, with the answer's `message` if it
//! has one; any other status, a redirect, a malformed or oversized answer, or no answer in
//! time is a failure of the plug-in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Limits, PluginError, ProvideRequest, Provided, TokenProvider, TokenValidator, ValidateRequest,
    Validated,
};
use crate::secret::Secret;

/// Largest answer read from a plug-in.
pub const MAX_ANSWER_BYTES: u64 = 256 * 1024;

/// Longest refusal message passed on to the caller.
const MAX_MESSAGE_CHARS: usize = 200;

/// `[http_validators.NAME]` / `[http_providers.NAME]` of `sts.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPluginConfig {
    /// `https://...`; `http://` only to a loopback address (a sidecar).
    pub url: String,
    /// Longest a call may take, connection and TLS handshake included.
    #[serde(default = "default_timeout_millis")]
    pub timeout_millis: u64,
    /// Calls in progress at once; further calls wait for a slot within the timeout.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// Header carrying a shared secret, e.g. `X-STS-Secret`.
    pub secret_header: Option<String>,
    /// The secret, inline...
    pub secret: Option<Secret<String>>,
    /// ...or in a file (trailing whitespace ignored).
    pub secret_file: Option<PathBuf>,
    /// Client certificate (PEM, leaf first) and key for mutual TLS.
    pub tls_client_cert_file: Option<PathBuf>,
    pub tls_client_key_file: Option<PathBuf>,
    /// CA certificates (PEM) the plug-in's server certificate must chain to; default the
    /// Mozilla roots.
    pub tls_ca_file: Option<PathBuf>,
}

fn default_timeout_millis() -> u64 {
    5_000
}

fn default_max_concurrent() -> usize {
    64
}

/// A configured HTTP plug-in.
pub struct HttpPlugin {
    name: String,
    url: String,
    agent: ureq::Agent,
    secret: Option<(String, Secret<String>)>,
}

impl std::fmt::Debug for HttpPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPlugin")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The PEM certificates of a file; at least one.
fn read_certificates(
    what: &str,
    path: &Path,
) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let pem = read_file(what, path)?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!(
            "{what} {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl HttpPlugin {
    /// Checks the configuration and reads its files; every problem is worded for the
    /// operator.
    pub fn new(name: &str, cfg: &HttpPluginConfig) -> Result<(HttpPlugin, Limits), String> {
        let url = cfg.url.trim().to_owned();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("url `{url}` is not an absolute http(s) URL"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("url `{url}` needs a host and no user info"));
        }
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if !port.contains(']') => h,
            _ => authority,
        };
        let tls = cfg.tls_client_cert_file.is_some() || cfg.tls_ca_file.is_some();
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if tls => {
                return Err("tls_* settings need an https:// url".into());
            }
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(format!(
                    "url `{url}`: plain http is only allowed to a loopback address; use https"
                ));
            }
            _ => return Err(format!("url `{url}` is not an http(s) URL")),
        }
        if cfg.timeout_millis == 0 || cfg.timeout_millis > 300_000 {
            return Err("timeout_millis must be 1 to 300000".into());
        }
        if cfg.max_concurrent == 0 {
            return Err("max_concurrent must be at least 1".into());
        }
        let secret = match (&cfg.secret_header, &cfg.secret, &cfg.secret_file) {
            (None, None, None) => None,
            (Some(h), Some(s), None) => Some((h.clone(), s.clone())),
            (Some(h), None, Some(path)) => {
                let raw = read_file("secret_file", path)?;
                let text = String::from_utf8(raw)
                    .map_err(|_| format!("secret_file {} is not UTF-8", path.display()))?;
                Some((h.clone(), Secret::new(text.trim_end().to_owned())))
            }
            (None, _, _) => return Err("secret and secret_file need secret_header".into()),
            (Some(_), None, None) => {
                return Err("secret_header needs secret or secret_file".into());
            }
            (Some(_), Some(_), Some(_)) => {
                return Err("give secret or secret_file, not both".into());
            }
        };
        if let Some((h, s)) = &secret {
            let token_char = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if h.is_empty() || !h.bytes().all(token_char) {
                return Err(format!("secret_header `{h}` is not an HTTP header name"));
            }
            if s.expose().is_empty() || s.expose().bytes().any(|b| b.is_ascii_control()) {
                return Err("the secret must be non-empty text without control characters".into());
            }
        }
        let mut tls_config = ureq::tls::TlsConfig::builder();
        if let Some(path) = &cfg.tls_ca_file {
            let roots = read_certificates("tls_ca_file", path)?;
            tls_config = tls_config.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
        }
        match (&cfg.tls_client_cert_file, &cfg.tls_client_key_file) {
            (None, None) => {}
            (Some(cert), Some(key)) => {
                let chain = read_certificates("tls_client_cert_file", cert)?;
                let key_pem = read_file("tls_client_key_file", key)?;
                let key = ureq::tls::PrivateKey::from_pem(&key_pem).map_err(|_| {
                    format!(
                        "tls_client_key_file {} holds no PEM private key",
                        key.display()
                    )
                })?;
                tls_config = tls_config
                    .client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
            }
            _ => {
                return Err("tls_client_cert_file and tls_client_key_file go together".into());
            }
        }
        let timeout = Duration::from_millis(cfg.timeout_millis);
        let agent = ureq::Agent::config_builder()
            // The call's guard gives up at `timeout` and answers the caller; the request
            // itself is cut a little later, so that the caller always hears the guard's
            // "did not answer within".
            .timeout_global(Some(timeout + Duration::from_millis(250)))
            .http_status_as_error(false)
            // A redirect could carry the secret header elsewhere.
            .max_redirects(0)
            // Callouts go straight to the configured URL, whatever the environment says.
            .proxy(None)
            .max_response_header_size(16 * 1024)
            .user_agent(format!("sts/{}", env!("CARGO_PKG_VERSION")))
            .tls_config(tls_config.build())
            .build()
            .new_agent();
        Ok((
            HttpPlugin {
                name: name.to_owned(),
                url,
                agent,
                secret,
            },
            Limits {
                timeout,
                max_concurrent: cfg.max_concurrent,
            },
        ))
    }

    /// POSTs `body`; the JSON object answered with a 2xx status.
    fn post(&self, body: &Value) -> Result<serde_json::Map<String, Value>, PluginError> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some((name, value)) = &self.secret {
            request = request.header(name.as_str(), value.expose().as_str());
        }
        let fail = |m: String| {
            tracing::warn!(plugin = %self.name, url = %self.url, "custom token plug-in: {m}");
            PluginError::Failed(m)
        };
        let mut response = request.send(body.to_string()).map_err(|e| {
            // The caller learns the kind of failure; the details are logged.
            tracing::warn!(plugin = %self.name, url = %self.url, error = %e, "custom token plug-in call failed");
            match e {
                ureq::Error::Timeout(_) => fail("it did not answer in time".into()),
                ureq::Error::HostNotFound => fail("its host name does not resolve".into()),
                ureq::Error::ConnectionFailed => fail("it refused the connection".into()),
                ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                    fail("it refused the connection".into())
                }
                ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
                    fail("the TLS connection to it failed".into())
                }
                _ => fail("the call to it failed".into()),
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string();
        let parsed = text
            .as_deref()
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        match status {
            200..=299 => {}
            400 | 401 | 403 => {
                let message = parsed
                    .as_ref()
                    .and_then(|v| v.get("message"))
                    .and_then(Value::as_str)
                    .map(|m| {
                        m.chars()
                            .filter(|c| !c.is_control())
                            .take(MAX_MESSAGE_CHARS)
                            .collect::<String>()
                    })
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| format!("refused (HTTP {status})"));
                return Err(PluginError::Invalid(message));
            }
            other => return Err(fail(format!("it answered HTTP {other}"))),
        }
        match (text, parsed) {
            (Err(ureq::Error::BodyExceedsLimit(_)), _) => {
                Err(fail(format!("its answer exceeds {MAX_ANSWER_BYTES} bytes")))
            }
            (Err(ureq::Error::Timeout(_)), _) => Err(fail("it did not finish its answer".into())),
            (Err(e), _) => Err(fail(format!("its answer could not be read ({e})"))),
            (Ok(_), Some(Value::Object(map))) => Ok(map),
            (Ok(_), _) => Err(fail("its answer is not a JSON object".into())),
        }
    }
}

/// `{"name": ["v", ...] | "v"}` as attributes; None if it has another shape.
fn attributes(v: Option<&Value>) -> Option<BTreeMap<String, Vec<String>>> {
    let Some(v) = v else {
        return Some(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (k, v) in v.as_object()? {
        let values = match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(list) => list
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        out.insert(k.clone(), values);
    }
    Some(out)
}

impl TokenValidator for HttpPlugin {
    fn validate(&self, r: &ValidateRequest) -> Result<Validated, PluginError> {
        let answer = self.post(&json!({
            "realm": r.realm,
            "instance": r.instance,
            "token_type": r.token_type,
            "input_token_state": r.input_token_state,
        }))?;
        let garbage = |m: &str| {
            tracing::warn!(plugin = %self.name, "custom token validator answered {m}");
            PluginError::Failed(format!("its answer is malformed: {m}"))
        };
        let principal = match answer.get("principal") {
            Some(Value::String(p)) => p.clone(),
            _ => return Err(garbage("no string `principal`")),
        };
        let attributes = attributes(answer.get("attributes"))
            .ok_or_else(|| garbage("`attributes` is not an object of strings or string arrays"))?;
        Ok(Validated {
            principal,
            attributes,
            extra_state: answer.get("extra_state").filter(|v| !v.is_null()).cloned(),
        })
    }
}

impl TokenProvider for HttpPlugin {
    fn create_token(&self, r: &ProvideRequest) -> Result<Provided, PluginError> {
        // Never the session: it is a bearer credential of this STS.
        let answer = self.post(&json!({
            "realm": r.realm,
            "instance": r.instance,
            "principal": r.principal,
            "attributes": r.attributes,
            "extra_state": r.extra_state,
            "input_token_type": r.input_token_type,
            "input_token_state": r.input_token_state,
            "output_token_type": r.output_token_type,
            "output_token_state": r.output_token_state,
        }))?;
        let garbage = |m: &str| {
            tracing::warn!(plugin = %self.name, "custom token provider answered {m}");
            PluginError::Failed(format!("its answer is malformed: {m}"))
        };
        let token = match answer.get("token") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(garbage("no string `token`")),
        };
        let lifetime = match answer.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Duration::from_secs(
                v.as_u64()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| garbage("`expires_in` is not a positive integer"))?,
            )),
        };
        Ok(Provided { token, lifetime })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> HttpPluginConfig {
        HttpPluginConfig {
            url: url.into(),
            timeout_millis: 1000,
            max_concurrent: 4,
            secret_header: None,
            secret: None,
            secret_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
            tls_ca_file: None,
        }
    }

    #[test]
    fn plain_http_only_to_loopback_and_secrets_need_a_header() {
        assert!(HttpPlugin::new("p", &cfg("http://127.0.0.1:9/v")).is_ok());
        assert!(HttpPlugin::new("p", &cfg("http://[::1]:9/v")).is_ok());
        assert!(HttpPlugin::new("p", &cfg("http://localhost/v")).is_ok());
        assert!(HttpPlugin::new("p", &cfg("https://tokens.example/v")).is_ok());
        for bad in [
            "http://tokens.example/v",
            "http://127.0.0.1.evil.example/v",
            "ftp://127.0.0.1/v",
            "https://user@tokens.example/v",
            "tokens.example",
        ] {
            assert!(HttpPlugin::new("p", &cfg(bad)).is_err(), "{bad}");
        }
        let mut c = cfg("https://tokens.example/v");
        c.secret = Some(Secret::new("s".into()));
        assert!(HttpPlugin::new("p", &c).is_err());
        c.secret_header = Some("X-Secret".into());
        assert!(HttpPlugin::new("p", &c).is_ok());
        c.secret_header = Some("X Secret".into());
        assert!(HttpPlugin::new("p", &c).is_err());
        let mut c = cfg("http://127.0.0.1/v");
        c.tls_ca_file = Some("/nonexistent".into());
        assert!(HttpPlugin::new("p", &c).is_err());
    }

    #[test]
    fn attributes_take_strings_and_string_arrays_only() {
        let a = attributes(Some(&json!({"mail": "a@x", "groups": ["g1", "g2"]}))).unwrap();
        assert_eq!(a["mail"], vec!["a@x"]);
        assert_eq!(a["groups"], vec!["g1", "g2"]);
        assert!(attributes(Some(&json!({"n": 1}))).is_none());
        assert!(attributes(Some(&json!([1]))).is_none());
        assert!(attributes(None).unwrap().is_empty());
    }
}
