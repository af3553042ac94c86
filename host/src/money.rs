//! Exact money on the host: the contract's amount, a signed count of ten-thousandths of
//! the currency's major unit (1.00 = 10000), with the functions the plugin SDK uses too.

pub use ml_connector_money::{
    Amount, SCALE, SCALE_DECIMALS, format, minor_unit, parse, round_to_unit,
};
