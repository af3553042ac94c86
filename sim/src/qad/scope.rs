//! Running a handler on the request's tenant, under the lock: what it works with
//! ([`Scope`]), and its business errors turned into a `submitResult` failure.

use axum::http::StatusCode;
use axum::response::Response;
use time::OffsetDateTime;

use super::answers::{FieldError, grounded_error, submit_failure};
use super::gate::Ctx;
use super::{QadCounters, Shared, SharedState, Stamp, TenantData, TenantState, Workspace};
use crate::rng::Rng;
use crate::sync::lock;

/// What a handler works with while it holds the lock.
pub(crate) struct Scope<'a> {
    pub(crate) tenant: &'a mut TenantState,
    pub(crate) rng: &'a mut Rng,
    pub(crate) counters: &'a mut QadCounters,
    pub(crate) now: OffsetDateTime,
    pub(crate) user: String,
    pub(crate) workspace: Workspace,
}

impl Scope<'_> {
    pub(crate) fn data(&mut self) -> &mut TenantData {
        self.tenant.data()
    }

    /// A fresh change stamp: new hash, now, the requesting user.
    pub(crate) fn stamp(&mut self) -> Stamp {
        Stamp::new(self.rng, self.now, &self.user)
    }
}

impl Shared {
    /// What a handler works with on the tenant `name`, acting as `user` in `workspace`
    /// (the tenant's first when `None`); `None` when there is no such tenant. The one place
    /// that takes the shared state apart for a tenant.
    pub(crate) fn scope(
        &mut self,
        name: &str,
        user: String,
        workspace: Option<Workspace>,
    ) -> Option<Scope<'_>> {
        let Shared {
            tenants,
            counters,
            clock,
            rng,
        } = self;
        let tenant = tenants.get_mut(name)?;
        let workspace = workspace
            .or_else(|| tenant.account.data.workspaces.first().cloned())
            .unwrap_or_default();
        Some(Scope {
            tenant,
            rng,
            counters,
            now: clock.now(),
            user,
            workspace,
        })
    }
}

/// Runs `f` on the request's tenant; business errors become a `submitResult` failure.
pub(crate) fn in_tenant(
    shared: &SharedState,
    ctx: &Ctx,
    f: impl FnOnce(&mut Scope) -> Result<Response, Vec<FieldError>>,
) -> Response {
    let mut guard = lock(shared);
    let user = ctx
        .identity
        .as_ref()
        .map_or_else(String::new, |i| i.username.clone());
    let Some(mut scope) = guard.scope(&ctx.tenant, user, ctx.workspace.clone()) else {
        return grounded_error(StatusCode::NOT_FOUND, "Not Found");
    };
    match f(&mut scope) {
        Ok(response) => response,
        Err(errors) => {
            scope.counters.business_errors += 1;
            submit_failure(&errors)
        }
    }
}
