//! Rendering kustomize and Helm directories with the tools users already have.

use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renderer {
    Kustomize,
    Helm,
}

/// Start of the message when the renderer's program is not installed.
pub const NOT_INSTALLED: &str = "not rendered:";

/// Renders a directory to a multi-document YAML stream.
pub fn render(renderer: Renderer, dir: &Path) -> Result<String, String> {
    let (program, args, hint): (String, Vec<String>, &str) = match renderer {
        Renderer::Kustomize => (
            std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into()),
            vec!["kustomize".into(), dir.to_string_lossy().into_owned()],
            "kubectl is needed to render kustomize directories; install it or set KUBECTL to its path",
        ),
        Renderer::Helm => {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "release".into());
            (
                std::env::var("HELM").unwrap_or_else(|_| "helm".into()),
                vec!["template".into(), name, dir.to_string_lossy().into_owned()],
                "helm is not on PATH, so this chart was not checked; install helm or set HELM",
            )
        }
    };
    let output = match Command::new(&program).args(&args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{NOT_INSTALLED} {hint}"));
        }
        Err(e) => return Err(format!("cannot run {program}: {e}")),
    };
    if !output.status.success() {
        let first = first_line(&output.stderr);
        return Err(format!("`{program} {}` failed: {first}", args[0]));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| format!("`{program} {}` printed non-UTF-8 output", args[0]))
}

/// The first non-empty line a failed program printed, for a one-line error.
pub fn first_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string()
}
