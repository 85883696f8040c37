//! The `vaults` binary: everything is in the `vaults_cli` library target.

fn main() -> std::process::ExitCode {
    vaults_cli::main()
}
