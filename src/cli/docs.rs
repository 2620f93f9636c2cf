//! `sts completions SHELL` and `sts man`: shell completions and man pages generated from the
//! CLI definition itself, so that they can never describe flags the binary does not have.

use std::io::Write as _;
use std::path::Path;

use clap::CommandFactory as _;

use super::{AnyError, Cli};

/// Writes the completion script for `shell` to stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<(), AnyError> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "sts", &mut out);
    std::io::stdout().write_all(&out)?;
    Ok(())
}

/// Writes `sts(1)` to stdout, or, with `dir`, `sts.1` and one page per subcommand
/// (`sts-user.1`, `sts-user-add.1`, ...) into that directory.
pub(super) fn man(dir: Option<&Path>) -> Result<(), AnyError> {
    let cmd = Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(cmd, dir)?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(())
}
