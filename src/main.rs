//! The `sts` command; see [`sts::cli`].

fn main() -> std::process::ExitCode {
    sts::cli::main()
}
