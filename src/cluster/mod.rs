//! The cluster side: a client from the kubeconfig, discovery, live objects, server-side
//! dry-runs and the GitOps controllers' status. Read only, except the dry-run `diff` asks
//! for, which the server never persists.

pub mod client;
pub mod controllers;
pub mod desired;
pub mod discovery;
pub mod dryrun;
pub mod health;
pub mod ignore;
pub mod injected;
pub mod live;
pub mod plan;
pub mod sync;
pub mod tracking;

pub use client::{Cluster, ClusterError, ConnectOptions, RequestError, kubeconfig_contexts};
pub use discovery::{Discovery, Resolution, Resource};

/// How many requests run at once: enough to hide the round-trip time, few enough not to
/// flood an API server (client-go's default burst is 10).
pub const CONCURRENCY: usize = 16;

/// Parses a timeout as kubectl's `--request-timeout` does: a number of seconds (`30`) or a
/// number with a unit (`500ms`, `30s`, `2m`, `1h`). `0` means no timeout.
pub fn parse_timeout(text: &str) -> Result<Option<std::time::Duration>, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: use e.g. 30s, 500ms, 2m or 0"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unit must be ms, s, m or h"
            ));
        }
    };
    Ok((seconds > 0.0).then(|| std::time::Duration::from_secs_f64(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timeouts_parse_like_kubectl() {
        assert_eq!(parse_timeout("30"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse_timeout("500ms"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(parse_timeout("2m"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(parse_timeout("0"), Ok(None));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("5d").is_err());
    }
}
