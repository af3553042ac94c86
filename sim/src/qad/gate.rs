//! The gate every tenant request passes before its endpoint: under `/api/` the
//! credentials, the workspace, write permission and disabled paths; then the tenant's
//! injected faults. What it establishes ([`Ctx`]) goes to the handler.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::answers::{access_denied, grounded_error};
use super::faults::{QadFaultAction, drop_body, html_502, take_fault, truncate_body};
use super::{Shared, SharedState, SimUser, TenantData, Workspace, auth};
use crate::sync::lock;

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) username: String,
    pub(crate) can_write: bool,
}

impl From<&SimUser> for Identity {
    fn from(user: &SimUser) -> Identity {
        Identity {
            username: user.username.clone(),
            can_write: user.can_write,
        }
    }
}

/// What the gate established about a request, for its handler.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) tenant: String,
    /// `clouderp` or `qad-central`.
    pub(crate) root: String,
    /// Set under `/api/`.
    pub(crate) identity: Option<Identity>,
    /// Set under `/api/`.
    pub(crate) workspace: Option<Workspace>,
}

/// The context roots a tenant answers under.
const ROOTS: [&str; 2] = ["clouderp", "qad-central"];

/// A tenant path split into tenant, context root and the path below it.
struct Target {
    tenant: String,
    root: String,
    rest: String,
}

impl Target {
    fn parse(path: &str) -> Option<Target> {
        let mut parts = path.strip_prefix('/')?.splitn(3, '/');
        let tenant = parts.next()?;
        let root = parts.next()?;
        if tenant.is_empty() || !ROOTS.contains(&root) {
            return None;
        }
        Some(Target {
            tenant: tenant.to_string(),
            root: root.to_string(),
            rest: format!("/{}", parts.next().unwrap_or("")),
        })
    }
}

/// Faults that change an admitted request's answer.
enum Deferred {
    Delay(Duration),
    DropAfterCommit,
    TruncateJson,
}

/// What the gate decided for one request.
enum Admission {
    Refuse(Response),
    Admit(Ctx, Option<Deferred>),
}

/// Credentials, workspace, permission, disabled paths and faults for every tenant request.
pub(super) async fn gate(
    State(shared): State<SharedState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(target) = Target::parse(request.uri().path()) else {
        return next.run(request).await;
    };
    let admission = admit(
        &mut lock(&shared),
        &target,
        request.method(),
        request.headers(),
    );
    match admission {
        Admission::Refuse(response) => response,
        Admission::Admit(ctx, deferred) => {
            request.extensions_mut().insert(ctx);
            match deferred {
                None => next.run(request).await,
                Some(Deferred::Delay(delay)) => {
                    // As a real server does, the request (read whole first) is processed
                    // when its time comes even if the client gave up waiting meanwhile.
                    let (parts, body) = request.into_parts();
                    let body = match axum::body::to_bytes(body, usize::MAX).await {
                        Ok(body) => body,
                        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
                    };
                    let request = Request::from_parts(parts, axum::body::Body::from(body));
                    let late = tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        next.run(request).await
                    });
                    late.await.unwrap_or_else(|_| {
                        grounded_error(StatusCode::INTERNAL_SERVER_ERROR, "the request failed")
                    })
                }
                Some(Deferred::DropAfterCommit) => drop_body(next.run(request).await).await,
                Some(Deferred::TruncateJson) => truncate_body(next.run(request).await).await,
            }
        }
    }
}

fn admit(shared: &mut Shared, target: &Target, method: &Method, headers: &HeaderMap) -> Admission {
    shared.counters.requests += 1;
    let now = shared.clock.now();
    let counters = &mut shared.counters;
    let Some(tenant) = shared.tenants.get_mut(&target.tenant) else {
        return Admission::Refuse(grounded_error(
            StatusCode::NOT_FOUND,
            &format!("Tenant {} does not exist.", target.tenant),
        ));
    };
    let mut ctx = Ctx {
        tenant: target.tenant.clone(),
        root: target.root.clone(),
        identity: None,
        workspace: None,
    };
    if target.rest.starts_with("/api/") {
        let identity = match auth::authenticate(tenant, headers, now) {
            Ok(identity) => identity,
            Err(error) => {
                counters.rejected_401 += 1;
                return Admission::Refuse(auth::unauthorized(&error.to_string()));
            }
        };
        let Some(workspace) = workspace_of(&tenant.account.data, headers) else {
            counters.rejected_403 += 1;
            return Admission::Refuse(access_denied());
        };
        if !identity.can_write && !matches!(*method, Method::GET | Method::HEAD) {
            counters.rejected_403 += 1;
            return Admission::Refuse(access_denied());
        }
        if tenant.account.is_disabled(&target.rest) {
            return Admission::Refuse(grounded_error(
                StatusCode::NOT_FOUND,
                &format!("{} is not available on this tenant.", target.rest),
            ));
        }
        ctx.identity = Some(identity);
        ctx.workspace = Some(workspace);
    }
    let Some(action) = take_fault(tenant, &target.rest, method) else {
        return Admission::Admit(ctx, None);
    };
    counters.faults_injected += 1;
    let deferred = match action {
        QadFaultAction::Http500 => {
            return Admission::Refuse(grounded_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error (injected)",
            ));
        }
        QadFaultAction::Html502 => return Admission::Refuse(html_502()),
        QadFaultAction::Unauthorized401Once => {
            counters.rejected_401 += 1;
            return Admission::Refuse(auth::unauthorized("Access token expired (injected)"));
        }
        QadFaultAction::Delay(delay) => Deferred::Delay(delay),
        QadFaultAction::DropAfterCommit => Deferred::DropAfterCommit,
        QadFaultAction::TruncateJson => Deferred::TruncateJson,
    };
    Admission::Admit(ctx, Some(deferred))
}

/// The workspace `x-qad-workspace-id` names, or the tenant's first when it names none.
fn workspace_of(data: &TenantData, headers: &HeaderMap) -> Option<Workspace> {
    match headers.get("x-qad-workspace-id") {
        None => data.workspaces.first().cloned(),
        Some(value) => {
            let id = value.to_str().ok()?.trim();
            data.workspaces.iter().find(|w| w.id() == id).cloned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_paths_split_into_tenant_root_and_rest() {
        let target = Target::parse("/acme/clouderp/api/erp/items").unwrap();
        assert_eq!(
            (target.tenant.as_str(), target.root.as_str()),
            ("acme", "clouderp")
        );
        assert_eq!(target.rest, "/api/erp/items");
        assert_eq!(Target::parse("/acme/qad-central").unwrap().rest, "/");
        assert!(Target::parse("/_sim/qad/acme/ledger").is_none());
        assert!(Target::parse("/acme/other/api").is_none());
    }
}
