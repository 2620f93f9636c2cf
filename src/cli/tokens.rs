//! `sts tokens`: persisted tokens, straight from the store.

use clap::Subcommand;

use super::AnyError;
use crate::config::Config;

#[derive(Subcommand)]
pub(super) enum TokensCommand {
    /// List tokens: by instance, by principal, or with a CREST filter.
    List {
        #[arg(long)]
        sts_id: Option<String>,
        #[arg(long)]
        principal: Option<String>,
        /// A `_queryFilter` expression, e.g. "/token_type eq 'SAML2'".
        #[arg(long, conflicts_with_all = ["sts_id", "principal"])]
        filter: Option<String>,
    },
    /// Print one token.
    Show { id: String },
    /// Cancel (remove) one token.
    Cancel { id: String },
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub(super) fn tokens(cfg: &Config, command: TokensCommand) -> Result<(), AnyError> {
    let store = crate::store::open_config(cfg)?;
    match command {
        TokensCommand::List {
            sts_id,
            principal,
            filter,
        } => {
            let expr = match (filter, sts_id, principal) {
                (Some(f), _, _) => f,
                (None, Some(s), Some(p)) => {
                    format!(
                        "/sts_id eq {} and /token_principal eq {}",
                        quote(&s),
                        quote(&p)
                    )
                }
                (None, Some(s), None) => format!("/sts_id eq {}", quote(&s)),
                (None, None, Some(p)) => format!("/token_principal eq {}", quote(&p)),
                (None, None, None) => "true".to_owned(),
            };
            let filter = crate::store::filter::parse(&expr)?;
            let mut cookie: Option<String> = None;
            loop {
                let page = store.query_tokens(&filter, 1000, cookie.as_deref())?;
                for t in &page.items {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        t.token_id,
                        t.sts_id,
                        t.principal,
                        t.token_type,
                        t.expires_ms / 1000
                    );
                }
                match page.next {
                    Some(c) => cookie = Some(c),
                    None => break,
                }
            }
        }
        TokensCommand::Show { id } => match store.get_token(&id)? {
            Some(t) => println!("{}", t.token),
            None => return Err(format!("no token `{id}`").into()),
        },
        TokensCommand::Cancel { id } => {
            if !store.delete_token(&id)? {
                return Err(format!("no token `{id}`").into());
            }
            println!("token with id {id} successfully removed.");
        }
    }
    Ok(())
}
