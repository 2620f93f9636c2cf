//! `sts instance`: the publish service, offline.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;

use super::AnyError;
use crate::config::Config;

#[derive(Subcommand)]
pub(super) enum InstanceCommand {
    /// Publish an instance from a JSON file holding its `instance_state` (or a whole publish
    /// body with `instance_state`); `-` reads standard input.
    Publish {
        #[arg(value_parser = ["rest", "soap"])]
        kind: String,
        file: PathBuf,
    },
    /// List instances: id, kind, revision.
    List,
    /// Print one instance's configuration (secrets removed).
    Show {
        #[arg(value_parser = ["rest", "soap"])]
        kind: String,
        id: String,
    },
    /// Remove an instance and its endpoints.
    Delete {
        #[arg(value_parser = ["rest", "soap"])]
        kind: String,
        id: String,
    },
}

pub(super) fn instances(cfg: &Config, command: InstanceCommand) -> Result<(), AnyError> {
    use crate::instance::Kind;
    let store = crate::store::open_config(cfg)?;
    let keys = crate::datadir::load_keys(&cfg.data_dir)?;
    // The stock binary has no Rust plug-ins; HTTP plug-ins of sts.toml are known.
    let plugins = Arc::new(crate::app::build::http_plugins(
        cfg,
        crate::plugin::Plugins::new(),
    )?);
    let publisher = crate::app::build::publisher(
        cfg,
        &store,
        keys,
        Arc::new(crate::clock::SystemClock),
        plugins,
    )?;
    let kind = |k: &str| Kind::parse(k).ok_or_else(|| format!("unknown kind {k}"));
    match command {
        InstanceCommand::Publish { kind: k, file } => {
            let bytes = if file.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::stdin().read_to_end(&mut b)?;
                b
            } else {
                std::fs::read(&file)?
            };
            let mut json: serde_json::Value = serde_json::from_slice(&bytes)?;
            if let Some(st) = json.get_mut("instance_state") {
                json = st.take();
            }
            let p = publisher.create(kind(&k)?, &json)?;
            super::audited::record(
                cfg,
                "instance.published",
                &[("kind", &k), ("instance", &p.id)],
            )?;
            let sign = p
                .config
                .get("saml2-config")
                .and_then(|c| c.get("saml2-sign-assertion"));
            if sign.is_some_and(|s| s == "false") {
                eprintln!(
                    "sts: WARNING: `{}` has saml2-sign-assertion false: it issues UNSIGNED SAML2 assertions, which relying parties cannot verify and this STS cannot validate",
                    p.id
                );
            }
            say!(
                "{}",
                serde_json::json!({"_id": p.id, "_rev": p.rev, "result": "success", "url_element": p.id})
            );
        }
        InstanceCommand::List => {
            for k in [Kind::Rest, Kind::Soap] {
                for p in publisher.list(k)? {
                    say!("{}\t{}\t{}", p.id, k.as_str(), p.rev);
                }
            }
        }
        InstanceCommand::Show { kind: k, id } => {
            let p = publisher.read(kind(&k)?, &id)?;
            let mut m = serde_json::Map::new();
            m.insert("_id".into(), p.id.clone().into());
            m.insert("_rev".into(), p.rev.clone().into());
            m.insert(p.id.clone(), p.config);
            say!("{}", serde_json::to_string_pretty(&m)?);
        }
        InstanceCommand::Delete { kind: k, id } => {
            let p = publisher.delete(kind(&k)?, &id, None)?;
            super::audited::record(
                cfg,
                "instance.deleted",
                &[("kind", &k), ("instance", &p.id)],
            )?;
            say!("{} sts instance {} successfully removed", k, p.id);
        }
    }
    Ok(())
}
