//! A fleet: `status` and `diff` against several clusters in one run (`--context` more than
//! once, `--all-contexts`, or the apps of `.gitops.yaml` mapped to different contexts). Every
//! (target, context) pair runs at once with its own timeout, so a fleet answers as fast as
//! its slowest cluster, and one that fails is named while the others still answer.

use std::io::Write;

use serde::Serialize;

use super::ConnectArgs;
use super::status::AsyncRuntime;
use crate::cluster::desired::{Desired, Target};
use crate::cluster::{Cluster, ClusterError, ConnectOptions};

/// One comparison to run: a target of the desired state against one context.
pub struct Job<'t> {
    pub target: &'t Target,
    pub options: ConnectOptions,
}

impl Job<'_> {
    /// The context as given (`(current context)` when none was), for naming a failure.
    pub fn context(&self) -> String {
        self.options
            .context
            .clone()
            .unwrap_or_else(|| "(current context)".into())
    }
}

/// The jobs of a run: each target against the contexts `connect` names (see
/// [`ConnectArgs::fleet`]).
pub fn jobs<'t>(
    desired: &'t Desired,
    connect: &ConnectArgs,
    all_contexts: bool,
    default_timeout: &str,
) -> anyhow::Result<Vec<Job<'t>>> {
    let mut jobs = Vec::new();
    for target in &desired.targets {
        for options in connect.fleet(target.context.as_ref(), all_contexts, default_timeout)? {
            jobs.push(Job { target, options });
        }
    }
    Ok(jobs)
}

/// True when the jobs compare with more than one context: the output then has a section per
/// cluster. Decided by what was asked, not by what answered, so the shape of the output does
/// not depend on which clusters are up.
pub fn is_fleet(jobs: &[Job<'_>]) -> bool {
    let mut contexts: Vec<Option<&str>> =
        jobs.iter().map(|j| j.options.context.as_deref()).collect();
    contexts.sort_unstable();
    contexts.dedup();
    contexts.len() > 1
}

/// A cluster of the fleet that did not answer (`failed` in JSON).
#[derive(Clone, Debug, Serialize)]
pub struct Failed {
    pub context: String,
    pub error: String,
}

/// What the fleet answered: the results in the order of the jobs, and who did not answer.
pub struct Answers<'t, R> {
    pub answered: Vec<(&'t Target, R)>,
    pub failed: Vec<Failed>,
}

/// Runs `work` for every job concurrently. The clusters that fail are named on stderr
/// (`error: context NAME: ...`); when none answers, that is the error (exit 2): the one
/// cluster's own error, or every cluster's on a line.
pub fn run<'t, R, F, Fut>(
    runtime: &AsyncRuntime,
    jobs: &[Job<'t>],
    work: F,
) -> anyhow::Result<Answers<'t, R>>
where
    F: Fn(Cluster, &'t Target) -> Fut,
    Fut: std::future::Future<Output = Result<R, ClusterError>>,
{
    let results = runtime.block_on(futures::future::join_all(jobs.iter().map(|job| {
        let work = &work;
        async move {
            let cluster = Cluster::connect(&job.options).await?;
            work(cluster, job.target).await
        }
    })));
    let mut answered = Vec::new();
    let mut errors: Vec<(String, ClusterError)> = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(r) => answered.push((job.target, r)),
            Err(e) => errors.push((job.context(), e)),
        }
    }
    if answered.is_empty() {
        if errors.len() == 1 {
            let (_, cause) = errors.pop().expect("one error");
            return Err(cause.into());
        }
        if !errors.is_empty() {
            let each: Vec<String> = errors
                .iter()
                .map(|(context, e)| format!("{context}: {}", error_chain(e)))
                .collect();
            anyhow::bail!("no cluster answered:\n  {}", each.join("\n  "));
        }
    }
    let failed: Vec<Failed> = errors
        .iter()
        .map(|(context, e)| Failed {
            context: context.clone(),
            error: error_chain(e),
        })
        .collect();
    let mut err = anstream::stderr().lock();
    for f in &failed {
        writeln!(err, "error: context {}: {}", f.context, f.error)?;
    }
    Ok(Answers { answered, failed })
}

/// An error with its causes on one line (`a: b: c`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
