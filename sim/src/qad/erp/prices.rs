//! `priceListV2s`: a domain's price list rows with their amounts, read by key.

use axum::extract::{Extension, State};
use axum::response::Response;

use super::super::SharedState;
use super::super::answers::{FieldError, data_answer};
use super::super::gate::Ctx;
use super::super::model::parse_day;
use super::super::params::Params;
use super::super::scope::in_tenant;
use super::{PRICES, check_view};

pub(super) async fn get_prices(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &PRICES)?;
        let domain = params.value_or("domainCode", &scope.workspace.domain);
        let start = match params.value("startDate") {
            None => None,
            Some(text) => Some(parse_day(text).ok_or_else(|| {
                vec![FieldError::new(
                    "startDate",
                    "startDate must be a date (yyyy-mm-dd).",
                    text,
                )]
            })?),
        };
        let key = |name: &str| params.value(name);
        let records = scope
            .data()
            .prices
            .iter()
            .filter(|p| p.domain == domain)
            .filter(|p| key("priceListCode").is_none_or(|v| p.price_list == v))
            .filter(|p| key("itemCode").is_none_or(|v| p.item == v))
            .filter(|p| key("currencyCode").is_none_or(|v| p.currency == v))
            .filter(|p| key("unitOfMeasure").is_none_or(|v| p.unit_of_measure == v))
            .filter(|p| start.is_none_or(|d| p.start == d))
            // No seeded row is customer-specific.
            .filter(|_| key("customerCode").is_none())
            .map(|p| p.wire())
            .collect();
        Ok(data_answer(PRICES.collection, records))
    })
}
