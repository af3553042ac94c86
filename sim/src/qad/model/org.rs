//! How a tenant is organised: workspaces (a domain and one of its entities), sites,
//! currencies and exchange rates.

use time::Date;

use super::Rate;

/// A domain and one of its entities, as `x-qad-workspace-id` names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workspace {
    pub domain: String,
    pub entity: String,
    pub base_currency: String,
}

impl Workspace {
    /// `10USA_10USACO`.
    pub fn id(&self) -> String {
        format!("{}_{}", self.domain, self.entity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub code: String,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    pub code: String,
    pub decimals: u8,
}

/// `rate` units of `to` per unit of `from`, from `valid_from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRate {
    pub from: String,
    pub to: String,
    pub valid_from: Date,
    pub rate: Rate,
}
