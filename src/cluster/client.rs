//! The API client: built from the kubeconfig (`--kubeconfig`, `KUBECONFIG` lists,
//! `~/.kube/config`, in-cluster), with a per-request timeout, and errors sorted into what
//! the user can act on (unreachable, timed out, bad credentials, forbidden, server failure).

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// Where to find the cluster.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file; otherwise `KUBECONFIG` (a list), then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The context; otherwise the kubeconfig's current context.
    pub context: Option<String>,
    /// The longest any one request may take; `None` waits forever.
    pub request_timeout: Option<Duration>,
}

/// A connection to one API server.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    /// The context name (or `in-cluster`).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// The context's namespace (`default` when it names none).
    pub default_namespace: String,
    timeout: Option<Duration>,
    /// The context user's exec credential plugin, named when a request times out (kube runs
    /// it before the request, and it may be what hangs).
    exec: Option<String>,
}

/// Why the cluster could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No kubeconfig could be read or it is invalid.
    #[error("cannot load the kubeconfig{}: set KUBECONFIG or pass --kubeconfig", .path.as_deref().map(|p| format!(" {p}")).unwrap_or_default())]
    Kubeconfig {
        path: Option<String>,
        source: kube::config::KubeconfigError,
    },
    /// No kubeconfig, and the in-cluster service account could not be used either.
    #[error(
        "no kubeconfig, and the in-cluster service account cannot be used: set KUBECONFIG or pass --kubeconfig"
    )]
    InCluster {
        source: kube::config::InClusterError,
    },
    /// The requested context is not in the kubeconfig.
    #[error("context {context:?} is not in the kubeconfig (contexts: {known})")]
    UnknownContext { context: String, known: String },
    /// The kubeconfig has no current context and none was given.
    #[error("the kubeconfig has no current context: pass --context")]
    NoContext,
    /// The client could not be built from the kubeconfig (TLS material, proxy, auth plugin).
    #[error("cannot set up a client for context {context}")]
    Client {
        context: String,
        source: kube::Error,
    },
    /// The credentials could not be obtained (exec plugin, OIDC, token file).
    #[error(
        "cannot get credentials for context {context}: check the kubeconfig's user (exec plugin, token, certificate)"
    )]
    Credentials {
        context: String,
        source: kube::Error,
    },
    /// The TLS handshake (or the protocol under it) failed: a certificate not trusted, a
    /// server that speaks plain HTTP. The cause is the message, not three lines below it.
    #[error(
        "TLS with the Kubernetes API server at {server} failed: {cause} (check the kubeconfig's certificate-authority-data and the server URL's scheme)"
    )]
    Tls {
        server: String,
        cause: String,
        source: kube::Error,
    },
    /// The server could not be reached.
    #[error(
        "cannot reach the Kubernetes API server at {server}: is the cluster running, and is --context right?"
    )]
    Unreachable { server: String, source: kube::Error },
    /// The server did not answer in time.
    #[error(
        "the Kubernetes API server at {server} did not answer within {after:?} while {doing}{}(raise --request-timeout, or check the cluster)",
        .exec.as_deref().map(|c| format!(" (or the credential plugin `{c}` did not return) ")).unwrap_or_else(|| " ".into())
    )]
    Timeout {
        server: String,
        after: Duration,
        doing: String,
        exec: Option<String>,
    },
    /// The exec credential plugin did not return while the client was set up.
    #[error(
        "the credential plugin `{command}` of context {context} did not return within {after:?}; run it by hand to see why, or raise --request-timeout"
    )]
    CredentialsTimeout {
        context: String,
        command: String,
        after: Duration,
    },
    /// The server rejected the credentials (401).
    #[error(
        "the API server at {server} rejected the credentials of context {context} (401 Unauthorized): log in again or fix the kubeconfig's user"
    )]
    Unauthorized {
        server: String,
        context: String,
        message: String,
    },
    /// The user may not do something the command needs (403).
    #[error("forbidden while {doing}: {message}")]
    Forbidden { doing: String, message: String },
    /// The server failed (5xx).
    #[error("the API server at {server} failed while {doing}: {code} {message}")]
    Server {
        server: String,
        doing: String,
        code: u16,
        message: String,
    },
    /// Any other error status for a request that has to succeed.
    #[error("the API server refused while {doing}: {code} {message}")]
    Refused {
        doing: String,
        code: u16,
        message: String,
    },
    /// The answer could not be understood.
    #[error("unexpected answer from the API server at {server} while {doing}")]
    Protocol {
        server: String,
        doing: String,
        source: kube::Error,
    },
}

/// A request that failed: either with an error status the caller may handle (404, 403, 409,
/// 422), or in a way that stops the command.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The server answered with an error status that is not fatal in itself.
    #[error("{code} {message}")]
    Status {
        code: u16,
        /// `NotFound`, `Forbidden`, `Invalid`, `Conflict`...
        reason: String,
        message: String,
        /// The kind of the missing thing for 404s (`namespaces` when the namespace is).
        details_kind: String,
    },
    /// The command cannot go on.
    #[error(transparent)]
    Fatal(#[from] ClusterError),
}

impl RequestError {
    /// Turns a status the caller does not handle into a fatal error.
    pub fn fatal(self, doing: &str) -> ClusterError {
        match self {
            RequestError::Fatal(e) => e,
            RequestError::Status {
                code: 403, message, ..
            } => ClusterError::Forbidden {
                doing: doing.to_string(),
                message,
            },
            RequestError::Status { code, message, .. } => ClusterError::Refused {
                doing: doing.to_string(),
                code,
                message,
            },
        }
    }

    pub fn code(&self) -> Option<u16> {
        match self {
            RequestError::Status { code, .. } => Some(*code),
            RequestError::Fatal(_) => None,
        }
    }
}

impl Cluster {
    /// Builds a client from the kubeconfig. Nothing is sent yet.
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster, ClusterError> {
        let shown = options.kubeconfig.as_ref().map(|p| p.display().to_string());
        let kubeconfig =
            match &options.kubeconfig {
                Some(path) => Some(Kubeconfig::read_from(path).map_err(|source| {
                    ClusterError::Kubeconfig {
                        path: shown.clone(),
                        source,
                    }
                })?),
                None => match Kubeconfig::read() {
                    Ok(k) => Some(k),
                    // Inside a pod without a kubeconfig the service account is the way in.
                    Err(_) if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => None,
                    Err(source) => return Err(ClusterError::Kubeconfig { path: None, source }),
                },
            };
        let mut exec = None;
        let (mut config, context) = match kubeconfig {
            Some(kubeconfig) => {
                let context = match &options.context {
                    Some(c) => c.clone(),
                    None => kubeconfig
                        .current_context
                        .clone()
                        .ok_or(ClusterError::NoContext)?,
                };
                if !kubeconfig.contexts.iter().any(|c| c.name == context) {
                    let known: Vec<&str> = kubeconfig
                        .contexts
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    return Err(ClusterError::UnknownContext {
                        context,
                        known: if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        },
                    });
                }
                exec = exec_command(&kubeconfig, &context);
                let kube_options = KubeConfigOptions {
                    context: Some(context.clone()),
                    ..KubeConfigOptions::default()
                };
                let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                    .await
                    .map_err(|source| ClusterError::Kubeconfig {
                        path: shown.clone(),
                        source,
                    })?;
                (config, context)
            }
            None => {
                let config = kube::Config::incluster()
                    .map_err(|source| ClusterError::InCluster { source })?;
                (config, "in-cluster".to_string())
            }
        };
        if let Some(timeout) = options.request_timeout {
            config.connect_timeout = Some(timeout);
            config.read_timeout = Some(timeout);
            config.write_timeout = Some(timeout);
            // Count the read timeout from the request, not from when a pooled connection
            // went idle.
            config.reset_reader_on_write = true;
        }
        let server = config.cluster_url.to_string();
        let default_namespace = config.default_namespace.clone();
        // Building the client may run the exec plugin (for client certificates), and kube
        // runs it synchronously: on a worker of its own, a plugin that never returns cannot
        // stop the timeout.
        let built = bounded(options.request_timeout, async move {
            kube::Client::try_from(config)
        });
        let client = match built.await {
            Some(result) => result.map_err(|source| ClusterError::Client {
                context: context.clone(),
                source,
            })?,
            None => {
                return Err(ClusterError::CredentialsTimeout {
                    context,
                    command: exec.unwrap_or_else(|| "?".into()),
                    after: options.request_timeout.unwrap_or_default(),
                });
            }
        };
        Ok(Cluster {
            client,
            context,
            server: server.trim_end_matches('/').to_string(),
            default_namespace,
            timeout: options.request_timeout,
            exec,
        })
    }

    /// A cluster over an existing client (a test double or a custom transport).
    pub fn from_client(client: kube::Client, server: &str, timeout: Option<Duration>) -> Cluster {
        Cluster {
            default_namespace: client.default_namespace().to_string(),
            client,
            context: "test".into(),
            server: server.to_string(),
            timeout,
            exec: None,
        }
    }

    /// GETs a path (`/apis/apps/v1/namespaces/x/deployments`) as JSON.
    pub async fn get(&self, path: &str, doing: &str) -> Result<Value, RequestError> {
        self.get_as(path, "application/json", doing).await
    }

    /// GETs a list with only each item's metadata (a `PartialObjectMetadataList`): enough to
    /// tell whether anything changed, at a fraction of the bytes.
    pub async fn get_metadata(&self, path: &str, doing: &str) -> Result<Value, RequestError> {
        self.get_as(
            path,
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
            doing,
        )
        .await
    }

    async fn get_as(&self, path: &str, accept: &str, doing: &str) -> Result<Value, RequestError> {
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .expect("a GET with a path is a valid request");
        self.send(request, doing).await
    }

    /// A server-side apply of `body` at `path` with `dryRun=All` and `force=true`: what the
    /// object would be after `kubectl apply --server-side --force-conflicts`, never saved.
    pub async fn apply_dry_run(
        &self,
        path: &str,
        body: &Value,
        field_manager: &str,
        doing: &str,
    ) -> Result<Value, RequestError> {
        let uri = format!(
            "{path}?dryRun=All&force=true&fieldManager={}",
            super::live::encode_query(field_manager)
        );
        let request = http::Request::patch(uri)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
            .body(serde_json::to_vec(body).expect("JSON values serialise"))
            .expect("a PATCH with a path is a valid request");
        self.send(request, doing).await
    }

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        doing: &str,
    ) -> Result<Value, RequestError> {
        // The request runs as a task of its own: kube runs an exec credential plugin
        // synchronously inside it, and only from another worker can the timeout fire.
        let client = self.client.clone();
        let call = async move { client.request::<Value>(request).await };
        match bounded(self.timeout, call).await {
            Some(result) => result.map_err(|e| self.classify(e, doing)),
            None => Err(RequestError::Fatal(ClusterError::Timeout {
                server: self.server.clone(),
                after: self.timeout.unwrap_or_default(),
                doing: doing.to_string(),
                exec: self.exec.clone(),
            })),
        }
    }

    fn classify(&self, error: kube::Error, doing: &str) -> RequestError {
        match error {
            kube::Error::Api(status) => {
                let code = status.code;
                let message = status.message.clone();
                match code {
                    401 => ClusterError::Unauthorized {
                        server: self.server.clone(),
                        context: self.context.clone(),
                        message: first_line(&message),
                    }
                    .into(),
                    500..=599 => ClusterError::Server {
                        server: self.server.clone(),
                        doing: doing.to_string(),
                        code,
                        message: first_line(&message),
                    }
                    .into(),
                    _ => RequestError::Status {
                        code,
                        reason: status.reason.clone(),
                        message: first_line(&message),
                        details_kind: status
                            .details
                            .as_ref()
                            .map(|d| d.kind.clone())
                            .unwrap_or_default(),
                    },
                }
            }
            kube::Error::Auth(_) => ClusterError::Credentials {
                context: self.context.clone(),
                source: error,
            }
            .into(),
            kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => ClusterError::Protocol {
                server: self.server.clone(),
                doing: doing.to_string(),
                source: error,
            }
            .into(),
            other if timed_out(&other) => ClusterError::Timeout {
                server: self.server.clone(),
                exec: self.exec.clone(),
                after: self.timeout.unwrap_or_default(),
                doing: doing.to_string(),
            }
            .into(),
            other => match tls_cause(&other) {
                Some(cause) => ClusterError::Tls {
                    server: self.server.clone(),
                    cause,
                    source: other,
                }
                .into(),
                None => ClusterError::Unreachable {
                    server: self.server.clone(),
                    source: other,
                }
                .into(),
            },
        }
    }
}

/// The context names of the kubeconfig (`path`, else `KUBECONFIG`, else `~/.kube/config`).
pub fn kubeconfig_contexts(path: Option<&std::path::Path>) -> Result<Vec<String>, ClusterError> {
    let shown = path.map(|p| p.display().to_string());
    let kubeconfig = match path {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    }
    .map_err(|source| ClusterError::Kubeconfig {
        path: shown,
        source,
    })?;
    Ok(kubeconfig.contexts.into_iter().map(|c| c.name).collect())
}

/// Runs `work` as a task on the runtime's workers and waits at most `timeout` for it (`None`:
/// for ever). `None` when it did not finish in time; the task is left behind, and the
/// runtime is shut down without waiting for it (see `cli::status::runtime`).
async fn bounded<T: Send + 'static>(
    timeout: Option<Duration>,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Option<T> {
    let task = tokio::spawn(work);
    let joined = match timeout {
        Some(after) => tokio::time::timeout(after, task).await.ok()?,
        None => task.await,
    };
    match joined {
        Ok(value) => Some(value),
        // The task panicked: let the panic surface as it would have inline.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The exec credential plugin of a context's user, if it has one.
fn exec_command(kubeconfig: &Kubeconfig, context: &str) -> Option<String> {
    let user = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .user
        .clone()?;
    kubeconfig
        .auth_infos
        .iter()
        .find(|a| a.name == user)?
        .auth_info
        .as_ref()?
        .exec
        .as_ref()?
        .command
        .clone()
}

/// True when a transport error is a timeout (from the connector or the read timeout).
fn timed_out(error: &kube::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The innermost cause of a transport error when it is about TLS or the protocol under HTTP
/// (rustls and hyper word them this way), for saying it first.
fn tls_cause(error: &kube::Error) -> Option<String> {
    let mut innermost = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        innermost = e.to_string();
        source = e.source();
    }
    let lower = innermost.to_ascii_lowercase();
    let about_tls = [
        "certificate",
        "tls",
        "handshake",
        "unknownissuer",
        "peer sent",
        "alert",
        "invalid http version",
        "wrong version number",
        "corrupt message",
    ]
    .iter()
    .any(|w| lower.contains(w));
    about_tls.then(|| first_line(&innermost))
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use kube::client::Body;

    /// A cluster whose API server is a function of (method, path) to (status, JSON body).
    pub fn mock(
        answer: impl Fn(&str, &str) -> (u16, String) + Send + Sync + Clone + 'static,
    ) -> Cluster {
        let service = tower::service_fn(move |request: http::Request<Body>| {
            let answer = answer.clone();
            async move {
                let method = request.method().to_string();
                let path = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let (code, body) = answer(&method, &path);
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder()
                        .status(code)
                        .body(Body::from(body.into_bytes()))
                        .expect("valid response"),
                )
            }
        });
        Cluster::from_client(
            kube::Client::new(service, "default"),
            "https://mock",
            Some(Duration::from_secs(5)),
        )
    }

    pub fn status(code: u16, reason: &str, message: &str) -> String {
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "code": code, "reason": reason, "message": message})
        .to_string()
    }

    #[tokio::test]
    async fn sorts_errors_by_what_the_user_can_do() {
        let cluster = mock(|_, path| match path {
            "/unauthorized" => (401, status(401, "Unauthorized", "Unauthorized")),
            "/forbidden" => (403, status(403, "Forbidden", "deployments is forbidden")),
            "/broken" => (500, status(500, "InternalError", "etcd is down\nmore")),
            "/missing" => (404, status(404, "NotFound", "not found")),
            _ => (200, "{\"ok\": true}".into()),
        });
        assert!(matches!(
            cluster.get("/unauthorized", "x").await,
            Err(RequestError::Fatal(ClusterError::Unauthorized { .. }))
        ));
        let forbidden = cluster.get("/forbidden", "x").await.expect_err("403");
        assert_eq!(forbidden.code(), Some(403));
        assert!(matches!(
            forbidden.fatal("listing"),
            ClusterError::Forbidden { .. }
        ));
        match cluster.get("/broken", "listing things").await {
            Err(RequestError::Fatal(e @ ClusterError::Server { .. })) => {
                assert_eq!(
                    e.to_string(),
                    "the API server at https://mock failed while listing things: 500 etcd is down"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            cluster.get("/missing", "x").await.expect_err("404").code(),
            Some(404)
        );
        assert_eq!(cluster.get("/ok", "x").await.expect("200")["ok"], true);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let service = tower::service_fn(|_: http::Request<Body>| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from(Vec::new())))
        });
        let cluster = Cluster::from_client(
            kube::Client::new(service, "default"),
            "https://mock",
            Some(Duration::from_millis(50)),
        );
        assert!(matches!(
            cluster.get("/api", "discovering").await,
            Err(RequestError::Fatal(ClusterError::Timeout { .. }))
        ));
    }
}
