//! Child processes of a test: the current test binary run again for one
//! `#[ignore]`d test, by exact name. A child is ignored so that a normal run
//! lists it as ignored instead of passing it without doing anything; its
//! parent runs it with `--ignored` and checks that it really ran.

use std::process::{Command, Output};

use crate::TestResult;

/// The current test binary, set to run exactly the ignored test `name`
/// (its full path, `module::test`), one thread, output not captured.
pub fn child_command(name: &str) -> Command {
    let exe = std::env::current_exe().expect("the path of the test binary");
    let mut cmd = Command::new(exe);
    cmd.args(child_args(name));
    cmd
}

fn child_args(name: &str) -> [&str; 5] {
    [
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

/// Runs the ignored test `name` of the current test binary in a child
/// process, with `env` set, under the given shell `umask` (if any), and
/// returns its output. Check it with [`check_child`].
pub fn run_child(name: &str, env: &[(&str, &str)], umask: Option<&str>) -> TestResult<Output> {
    let mut cmd = match umask {
        Some(mask) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
                .arg(std::env::current_exe()?)
                .args(child_args(name));
            c
        }
        None => child_command(name),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd.output()?)
}

/// Fails with the child's output unless it succeeded and its one test ran
/// and passed.
pub fn check_child(out: &Output) -> TestResult {
    if !out.status.success() {
        return Err(format!(
            "child failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    // `--exact` with a wrong name runs nothing and still succeeds.
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.contains("test result: ok. 1 passed") {
        return Err(format!("child ran no test:\n{stdout}").into());
    }
    Ok(())
}

/// The value of the environment variable `name` that a parent test set for
/// its child; panics when it is missing: the ignored child test was run by
/// hand, not by its parent, and must not pass.
pub fn child_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: this child test is run by its parent test, not alone")
    })
}
