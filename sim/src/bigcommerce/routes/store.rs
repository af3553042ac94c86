//! V2 store information and the store's time (the simulated clock).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::super::SharedState;
use crate::sync::lock;

pub(super) fn router() -> Router<SharedState> {
    Router::new()
        .route("/stores/{hash}/v2/store", get(store_information))
        .route("/stores/{hash}/v2/time", get(store_time))
}

async fn store_information(Path(hash): Path<String>) -> Response {
    axum::Json(json!({
        "id": hash,
        "account_uuid": format!("00000000-0000-4000-8000-{:0>12}", hash.len()),
        "domain": format!("{hash}.example.com"),
        "secure_url": format!("https://{hash}.example.com"),
        "control_panel_base_url": format!("https://store-{hash}.mybigcommerce.com"),
        "status": "live",
        "name": format!("Simulated store {hash}"),
        "first_name": "Sim",
        "last_name": "Ulator",
        "address": "12 Main Street, Austin, Texas 78701",
        "country": "United States",
        "country_code": "US",
        "phone": "",
        "admin_email": "admin@example.com",
        "order_email": "orders@example.com",
        "favicon_url": "",
        "timezone": { "name": "Etc/UTC", "raw_offset": 0, "dst_offset": 0, "dst_correction": false,
            "date_format": { "display": "jS M Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A" } },
        "language": "en",
        "currency": "USD",
        "currency_symbol": "$",
        "decimal_separator": ".",
        "thousands_separator": ",",
        "decimal_places": 2,
        "currency_symbol_location": "left",
        "weight_units": "LBS",
        "dimension_units": "Inches",
        "dimension_decimal_places": 2,
        "dimension_decimal_token": ".",
        "dimension_thousands_token": ",",
        "plan_name": "Standard",
        "plan_level": "Standard",
        "plan_is_trial": false,
        "industry": "",
        "logo": [],
        "is_price_entered_with_tax": false,
        "store_id": 1_000_000 + hash.len() as u64,
        "default_site_id": 1000,
        "default_channel_id": 1,
        "active_comparison_modules": [],
        "features": {
            "stencil_enabled": true,
            "sitewidehttps_enabled": true,
            "facebook_catalog_id": "",
            "checkout_type": "optimized",
            "wishlists_enabled": true,
            "graphql_storefront_api_enabled": true,
            "shopper_consent_tracking_enabled": false,
            "multi_storefront_enabled": false,
            "storefront_limits": { "active": 1, "total_including_inactive": 1 },
        },
    }))
    .into_response()
}

async fn store_time(State(shared): State<SharedState>) -> Response {
    let now = lock(&shared).clock.now();
    axum::Json(json!({ "time": now.unix_timestamp() })).into_response()
}
