//! A server with a custom token type, `CUSTOM`, as in AM's "Extending STS to Support Custom
//! Token Types":
//!
//! - [`PartnerKeyValidator`] validates `CUSTOM` input: `input_token_state.extra_stuff` must
//!   be one of the partner keys it was given (compared in constant time); the partner's
//!   principal is the result, and the partner's name goes to the provider as extra state.
//! - [`TicketProvider`] issues `CUSTOM` output: a ticket `v1.<payload>.<mac>`, where the
//!   payload (base64url JSON) names the principal, the expiry, `extra_stuff_for_custom` of
//!   the output token state and the validator's extra state, and the mac is HMAC-SHA256
//!   under the provider's key.
//!
//! Run it like `sts serve` (same `STS_CONFIG` file and `STS_*` variables), plus:
//! `STS_EXAMPLE_PARTNERS="key=principal,..."` and `STS_EXAMPLE_TICKET_KEY` (at least 32
//! bytes). A REST instance then names the plug-ins:
//!
//! ```json
//! "custom-token-validators": [{"customTokenName": "CUSTOM", "customOperationClassName": "partner-key-validator"}],
//! "custom-token-providers": [{"customTokenName": "CUSTOM", "customOperationClassName": "ticket-provider"}],
//! "custom-token-transforms": [{"inputTokenType": "CUSTOM", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}]
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};
use sts::plugin::{
    PluginError, ProvideRequest, Provided, TokenProvider, TokenValidator, ValidateRequest,
    Validated,
};
use sts::secret::{Secret, ct_eq};

/// Partners by key; each key stands for one principal.
pub struct PartnerKeyValidator {
    partners: Vec<(Secret<String>, String)>,
}

impl PartnerKeyValidator {
    /// Reads `key=principal,key=principal`.
    pub fn parse(spec: &str) -> Result<PartnerKeyValidator, String> {
        let partners = spec
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (key, principal) = p
                    .split_once('=')
                    .ok_or_else(|| format!("`{p}` is not key=principal"))?;
                Ok((
                    Secret::new(key.trim().to_owned()),
                    principal.trim().to_owned(),
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if partners.is_empty() {
            return Err("no partner keys".into());
        }
        Ok(PartnerKeyValidator { partners })
    }
}

impl TokenValidator for PartnerKeyValidator {
    fn validate(&self, request: &ValidateRequest) -> Result<Validated, PluginError> {
        let presented = request
            .input_token_state
            .get("extra_stuff")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                PluginError::Invalid("extra_stuff (the partner key) is required".into())
            })?;
        // Every key is compared, so that timing does not tell which one nearly matched.
        let mut found = None;
        for (key, principal) in &self.partners {
            if ct_eq(key.expose().as_bytes(), presented.as_bytes()) {
                found = Some(principal);
            }
        }
        let principal = found.ok_or_else(|| PluginError::Invalid("unknown partner key".into()))?;
        Ok(Validated::new(principal.clone())
            .with_attribute("partner", vec![principal.clone()])
            .with_extra_state(json!({"partner": principal})))
    }
}

/// Issues HMAC-SHA256 tickets.
pub struct TicketProvider {
    key: Secret<Vec<u8>>,
    lifetime: Duration,
}

impl TicketProvider {
    pub fn new(key: Vec<u8>) -> Result<TicketProvider, String> {
        if key.len() < 32 {
            return Err("the ticket key must be at least 32 bytes".into());
        }
        Ok(TicketProvider {
            key: Secret::new(key),
            lifetime: Duration::from_secs(300),
        })
    }

    fn mac(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        let failed = |e: openssl::error::ErrorStack| PluginError::Failed(e.to_string());
        let key = openssl::pkey::PKey::hmac(self.key.expose()).map_err(failed)?;
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key)
            .map_err(failed)?;
        signer.update(data).map_err(failed)?;
        signer.sign_to_vec().map_err(failed)
    }

    /// The payload of a ticket this provider made, if its mac verifies and it has not
    /// expired at `now`.
    pub fn verify(&self, ticket: &str, now: SystemTime) -> Option<Value> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let rest = ticket.strip_prefix("v1.")?;
        let (payload, mac) = rest.split_once('.')?;
        let expected = self.mac(payload.as_bytes()).ok()?;
        if !ct_eq(&b64.decode(mac).ok()?, &expected) {
            return None;
        }
        let claims: Value = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        (claims.get("exp")?.as_u64()? > now).then_some(claims)
    }
}

impl TokenProvider for TicketProvider {
    fn create_token(&self, request: &ProvideRequest) -> Result<Provided, PluginError> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // The server's time, not the system clock: tests pin it.
        let now = request
            .now
            .duration_since(UNIX_EPOCH)
            .map_err(|e| PluginError::Failed(e.to_string()))?;
        let payload = json!({
            "sub": request.principal,
            "exp": (now + self.lifetime).as_secs(),
            "input_token_type": request.input_token_type,
            "extra_stuff_for_custom": request.output_token_state.get("extra_stuff_for_custom"),
            "extra_state": request.extra_state,
        });
        let payload = b64.encode(payload.to_string());
        let mac = b64.encode(self.mac(payload.as_bytes())?);
        Ok(Provided::new(format!("v1.{payload}.{mac}")).with_lifetime(self.lifetime))
    }
}

#[allow(dead_code)] // The integration tests include this file for its plug-ins only.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custom_token: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[allow(dead_code)]
fn run() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok();
    let config_file = env("STS_CONFIG").map(std::path::PathBuf::from);
    let cfg = sts::config::Config::load(config_file.as_deref(), &env)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cfg.log)?)
        .with_writer(std::io::stderr)
        .init();
    // First start in an empty data directory: keys, the demo user, the administrator.
    sts::datadir::bootstrap(
        &cfg.data_dir,
        env("STS_DEMO_PASSWORD"),
        env("STS_ADMIN_PASSWORD"),
        sts::clock::Clock::now(&sts::clock::SystemClock),
    )?;
    let partners = PartnerKeyValidator::parse(&env("STS_EXAMPLE_PARTNERS").unwrap_or_default())?;
    let tickets = TicketProvider::new(
        env("STS_EXAMPLE_TICKET_KEY")
            .ok_or("STS_EXAMPLE_TICKET_KEY is required")?
            .into_bytes(),
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = sts::ServerBuilder::new(cfg)
            .validator("partner-key-validator", partners)
            .provider("ticket-provider", tickets)
            .start()
            .await?;
        let shutdown = sts::shutdown_signal();
        println!("listening on {}", running.base_url());
        running.serve(shutdown).await;
        Ok(())
    })
}
