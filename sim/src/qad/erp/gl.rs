//! The ledger's reference data: an entity's chart of accounts (`glAccounts`) and its GL
//! periods with their status (`glPeriods`).

use axum::extract::{Extension, State};
use axum::response::Response;

use super::super::SharedState;
use super::super::answers::{FieldError, data_answer};
use super::super::gate::Ctx;
use super::super::params::Params;
use super::super::scope::in_tenant;
use super::{ACCOUNTS, PERIODS, check_view};

pub(super) async fn get_accounts(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &ACCOUNTS)?;
        let entity = params.value_or("entityCode", &scope.workspace.entity);
        let code = params.value("glCode");
        let records = scope
            .data()
            .accounts
            .iter()
            .filter(|a| a.entity == entity && code.is_none_or(|c| a.code == c))
            .map(|a| a.wire())
            .collect();
        Ok(data_answer(ACCOUNTS.collection, records))
    })
}

pub(super) async fn get_periods(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &PERIODS)?;
        let entity = params.value_or("entityCode", &scope.workspace.entity);
        let number = |name: &str| -> Result<Option<i64>, Vec<FieldError>> {
            params
                .value(name)
                .map(|v| {
                    v.parse().map_err(|_| {
                        vec![FieldError::new(
                            name,
                            format!("{name} must be a number."),
                            v,
                        )]
                    })
                })
                .transpose()
        };
        let (year, period) = (number("postingYear")?, number("postingPeriod")?);
        let records = scope
            .data()
            .periods
            .iter()
            .filter(|p| p.entity == entity)
            .filter(|p| year.is_none_or(|y| i64::from(p.year) == y))
            .filter(|p| period.is_none_or(|n| i64::from(p.period) == n))
            .map(|p| p.wire())
            .collect();
        Ok(data_answer(PERIODS.collection, records))
    })
}
