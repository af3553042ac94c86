//! QAD Financials' checks of a journal entry (every one but the duplicate guard), each
//! failure its own field error, and the entry that passes them all ([`Draft`]) with its
//! lines converted to the base currency.

use std::collections::BTreeMap;

use time::Date;

use super::super::PeriodStatus;
use super::super::answers::FieldError;
use super::super::erp::text;
use super::super::model::{
    JOURNAL_ENTRIES, Money, PostedJournal, PostedLine, Rate, Stamp, TenantData, Workspace, day,
    parse_day,
};
use crate::wire::{RawObject, fixed, money_of};

/// Daybook codes are at most this long.
const DAYBOOK_MAX: usize = 8;

/// An entry that passed every check, waiting for its voucher.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(super) entity: String,
    pub(super) daybook: String,
    layer: String,
    date: Date,
    pub(super) year: i32,
    period: u32,
    description: String,
    external_reference: String,
    base_currency: String,
    lines: Vec<PostedLine>,
}

impl Draft {
    pub(super) fn post(self, voucher: String, stamp: Stamp) -> PostedJournal {
        PostedJournal {
            entity: self.entity,
            daybook: self.daybook,
            voucher,
            layer: self.layer,
            posting_date: self.date,
            year: self.year,
            period: self.period,
            description: self.description,
            external_reference: self.external_reference,
            base_currency: self.base_currency,
            lines: self.lines,
            stamp,
        }
    }
}

/// Every check but the duplicate guard.
pub(crate) fn validate(
    data: &TenantData,
    workspace: &Workspace,
    entry: &RawObject,
) -> Result<Draft, Vec<FieldError>> {
    let mut errors = Vec::new();
    let entity = text(entry, "entityCode", &mut errors);
    let known_entity = check_entity(data, workspace, &entity, &mut errors);
    let base_currency = known_entity.map_or_else(
        || workspace.base_currency.clone(),
        |w| w.base_currency.clone(),
    );
    let daybook = text(entry, "daybookCode", &mut errors);
    check_daybook(data, &entity, &daybook, &mut errors);
    let layer = text(entry, "layerCode", &mut errors);
    check_layer(data, &layer, &mut errors);
    let known = known_entity.map(|w| w.entity.as_str());
    let (date, year, period) = check_period(data, known, entry, &mut errors);
    let description = text(entry, "description", &mut errors);
    let external_reference = text(entry, "externalReference", &mut errors);
    let context = LineContext {
        data,
        entity: known,
        base_currency: &base_currency,
        date,
    };
    let lines = match entry.objects("lines") {
        Ok(Some(lines)) if !lines.is_empty() => lines,
        Ok(_) => {
            errors.push(FieldError::new(
                "lines",
                "A journal entry needs at least one line.",
                "",
            ));
            Vec::new()
        }
        Err(error) => {
            errors.push(FieldError::new("lines", error.to_string(), ""));
            Vec::new()
        }
    };
    let checked: Vec<Option<PostedLine>> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| context.check(i, line, &mut errors))
        .collect();
    if let Some(lines) = checked.into_iter().collect::<Option<Vec<_>>>() {
        check_balance(data, &base_currency, &lines, &mut errors);
        if errors.is_empty() {
            return Ok(Draft {
                entity,
                daybook,
                layer,
                date: date.expect("no errors, so the date parsed"),
                year,
                period,
                description,
                external_reference,
                base_currency,
                lines,
            });
        }
    }
    Err(errors)
}

fn check_entity<'a>(
    data: &'a TenantData,
    workspace: &Workspace,
    entity: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a Workspace> {
    let fail = |message: String| FieldError::new("entityCode", message, entity);
    if entity.is_empty() {
        errors.push(fail("Entity is mandatory.".into()));
        return None;
    }
    let Some(found) = data.workspace_for_entity(entity) else {
        errors.push(fail(format!("Entity {entity} does not exist.")));
        return None;
    };
    if entity != workspace.entity {
        errors.push(fail(format!(
            "Entity {entity} is not in workspace {}.",
            workspace.id()
        )));
    }
    Some(found)
}

fn check_daybook(data: &TenantData, entity: &str, code: &str, errors: &mut Vec<FieldError>) {
    let message = if code.is_empty() {
        "Daybook is mandatory.".to_string()
    } else if code.chars().count() > DAYBOOK_MAX {
        format!("Daybook code {code} is longer than {DAYBOOK_MAX} characters.")
    } else {
        match data
            .daybooks
            .iter()
            .find(|d| d.entity == entity && d.code == code)
        {
            None => format!("Daybook {code} does not exist in entity {entity}."),
            Some(d) if !d.active => format!("Daybook {code} is not active."),
            Some(d) if d.kind != JOURNAL_ENTRIES => format!(
                "Daybook {code} is of type {}; journal entries need a daybook of type {JOURNAL_ENTRIES}.",
                d.kind
            ),
            Some(_) => return,
        }
    };
    errors.push(FieldError::new("daybookCode", message, code));
}

fn check_layer(data: &TenantData, layer: &str, errors: &mut Vec<FieldError>) {
    if layer.is_empty() {
        errors.push(FieldError::new("layerCode", "Layer is mandatory.", ""));
    } else if !data.layers.iter().any(|l| l == layer) {
        errors.push(FieldError::new(
            "layerCode",
            format!("Layer {layer} does not exist."),
            layer,
        ));
    }
}

/// A whole number field.
fn number<T: std::str::FromStr>(
    entry: &RawObject,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let value = text(entry, name, errors);
    let parsed = value.trim().parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            name,
            format!("{name} must be a whole number."),
            value,
        ));
    }
    parsed
}

/// The posting date, year and period, checked against the entity's calendar (when the
/// entity exists).
fn check_period(
    data: &TenantData,
    entity: Option<&str>,
    entry: &RawObject,
    errors: &mut Vec<FieldError>,
) -> (Option<Date>, i32, u32) {
    let text_date = text(entry, "postingDate", errors);
    let date = parse_day(&text_date);
    if date.is_none() {
        errors.push(FieldError::new(
            "postingDate",
            "Posting date must be a date (yyyy-mm-dd).",
            &text_date,
        ));
    }
    let year = number::<i32>(entry, "postingYear", errors);
    let period = number::<u32>(entry, "postingPeriod", errors);
    let (Some(entity), Some(year), Some(period)) = (entity, year, period) else {
        return (date, year.unwrap_or(0), period.unwrap_or(0));
    };
    let Some(found) = data
        .periods
        .iter()
        .find(|p| p.entity == entity && p.year == year && p.period == period)
    else {
        errors.push(FieldError::new(
            "postingPeriod",
            format!("GL period {year}/{period} does not exist for entity {entity}."),
            period.to_string(),
        ));
        return (date, year, period);
    };
    if let Some(date) = date
        && !(found.start..=found.end).contains(&date)
    {
        errors.push(FieldError::new(
            "postingDate",
            format!(
                "Posting date {text_date} is not in GL period {year}/{period} ({} to {}).",
                day(found.start),
                day(found.end)
            ),
            &text_date,
        ));
    }
    if found.status != PeriodStatus::Open {
        errors.push(FieldError::new(
            "postingPeriod",
            format!(
                "GL period {year}/{period} of entity {entity} is {}.",
                found.status.name()
            ),
            period.to_string(),
        ));
    }
    (date, year, period)
}

/// What every line is checked against.
struct LineContext<'a> {
    data: &'a TenantData,
    /// `None` when the entry's entity does not exist (its accounts are not checked).
    entity: Option<&'a str>,
    base_currency: &'a str,
    date: Option<Date>,
}

impl LineContext<'_> {
    /// The line as it will be posted, or `None` after noting its errors.
    fn check(
        &self,
        i: usize,
        line: &RawObject,
        errors: &mut Vec<FieldError>,
    ) -> Option<PostedLine> {
        let before = errors.len();
        let at = |name: &str| format!("lines[{i}].{name}");
        let mut field = |name: &str| {
            line.text_or_empty(name).unwrap_or_else(|error| {
                errors.push(FieldError::new(at(name), error.to_string(), ""));
                String::new()
            })
        };
        let gl_code = field("glCode");
        let sub_account = field("subAccountCode");
        let cost_center = field("costCenterCode");
        let project = field("projectCode");
        let tax_code = field("taxCode");
        let description = field("description");
        let currency = field("currencyCode");
        self.check_account(i, &gl_code, [&sub_account, &cost_center, &tax_code], errors);
        let decimals = self.check_currency(i, &currency, errors);
        let debit = amount(line, &at("debitTC"), decimals, &currency, errors);
        let credit = amount(line, &at("creditTC"), decimals, &currency, errors);
        if let (Some(debit), Some(credit)) = (debit, credit) {
            let message = match (debit > 0, credit > 0) {
                (false, false) => Some("One of debitTC and creditTC must be positive."),
                (true, true) => Some("Only one of debitTC and creditTC may be positive."),
                _ => None,
            };
            if let Some(message) = message {
                errors.push(FieldError::new(at("debitTC"), message, ""));
            }
        }
        let rate = self.rate(i, line, &currency, errors);
        if errors.len() > before {
            return None;
        }
        let (debit, credit, rate) = (debit?, credit?, rate?);
        let base_decimals = self.data.decimals(self.base_currency);
        let (Some(debit_base), Some(credit_base)) = (
            rate.convert(debit, base_decimals),
            rate.convert(credit, base_decimals),
        ) else {
            errors.push(FieldError::new(
                at("exchangeRate"),
                "The amount in base currency is too large.",
                rate.to_text(),
            ));
            return None;
        };
        Some(PostedLine {
            gl_code,
            sub_account,
            cost_center,
            project,
            tax_code,
            description,
            currency,
            debit_tc: debit,
            credit_tc: credit,
            rate,
            debit_base,
            credit_base,
        })
    }

    /// The account exists, is active and postable, and has the analysis it requires
    /// (`given` is the sub-account, cost centre and tax code).
    fn check_account(&self, i: usize, code: &str, given: [&str; 3], errors: &mut Vec<FieldError>) {
        let Some(entity) = self.entity else {
            return;
        };
        let at = |name: &str| format!("lines[{i}].{name}");
        let fail = |message: String| FieldError::new(at("glCode"), message, code);
        let Some(account) = self
            .data
            .accounts
            .iter()
            .find(|a| a.entity == entity && a.code == code)
        else {
            errors.push(fail(if code.is_empty() {
                "GL account is mandatory.".into()
            } else {
                format!("GL account {code} does not exist in entity {entity}.")
            }));
            return;
        };
        if !account.active {
            errors.push(fail(format!("GL account {code} is not active.")));
        }
        if !account.postable {
            errors.push(fail(format!(
                "GL account {code} is a header account and cannot be posted to."
            )));
        }
        let required = [
            (
                account.requires_sub_account,
                "subAccountCode",
                "a sub-account",
            ),
            (
                account.requires_cost_center,
                "costCenterCode",
                "a cost center",
            ),
            (account.requires_tax_code, "taxCode", "a tax code"),
        ];
        for ((required, field, what), value) in required.into_iter().zip(given) {
            if required && value.trim().is_empty() {
                errors.push(FieldError::new(
                    at(field),
                    format!("GL account {code} requires {what}."),
                    "",
                ));
            }
        }
    }

    /// The currency's decimals, or `None` (noted) when it does not exist.
    fn check_currency(&self, i: usize, code: &str, errors: &mut Vec<FieldError>) -> Option<u8> {
        let found = self.data.currency(code).map(|c| c.decimals);
        if found.is_none() {
            let message = if code.is_empty() {
                "Currency is mandatory.".to_string()
            } else {
                format!("Currency {code} does not exist.")
            };
            errors.push(FieldError::new(
                format!("lines[{i}].currencyCode"),
                message,
                code,
            ));
        }
        found
    }

    /// The line's rate to the base currency: 1 for the base currency, else the one sent or
    /// the table's for the posting date.
    fn rate(
        &self,
        i: usize,
        line: &RawObject,
        currency: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<Rate> {
        let field = format!("lines[{i}].exchangeRate");
        let sent = match line.text("exchangeRate") {
            Ok(Some(text)) if !text.trim().is_empty() => {
                match Rate::parse(&text).filter(|r| r.0 > 0) {
                    Some(rate) => Some(rate),
                    None => {
                        errors.push(FieldError::new(
                            field,
                            "exchangeRate must be a positive decimal with at most 10 decimals.",
                            text,
                        ));
                        return None;
                    }
                }
            }
            Ok(_) => None,
            Err(error) => {
                errors.push(FieldError::new(field, error.to_string(), ""));
                return None;
            }
        };
        if currency == self.base_currency {
            if sent.is_some_and(|r| r != Rate::ONE) {
                errors.push(FieldError::new(
                    field,
                    format!("The exchange rate of the base currency {currency} is 1."),
                    sent.map(Rate::to_text).unwrap_or_default(),
                ));
                return None;
            }
            return Some(Rate::ONE);
        }
        if sent.is_some() {
            return sent;
        }
        let date = self.date?;
        let found = self.data.rate(currency, self.base_currency, date);
        if found.is_none() && self.data.currency(currency).is_some() {
            errors.push(FieldError::new(
                field,
                format!(
                    "No exchange rate from {currency} to {} on {}.",
                    self.base_currency,
                    day(date)
                ),
                "",
            ));
        }
        found
    }
}

/// A debit or credit: absent or empty is zero; otherwise a non-negative decimal within the
/// currency's decimals (when the currency is known).
fn amount(
    line: &RawObject,
    field: &str,
    decimals: Option<u8>,
    currency: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Money> {
    let name = field.rsplit('.').next().unwrap_or(field);
    let Some(raw) = line.raw(name) else {
        return Some(0);
    };
    if raw.get().trim() == "\"\"" {
        return Some(0);
    }
    let shown = raw.get().trim().trim_matches('"').to_string();
    let Some(value) = money_of(raw) else {
        errors.push(FieldError::new(
            field,
            format!("{name} must be a decimal with at most four decimals."),
            shown,
        ));
        return None;
    };
    if value < 0 {
        errors.push(FieldError::new(
            field,
            format!("{name} must not be negative."),
            shown,
        ));
        return None;
    }
    let unit = decimals.and_then(ml_connector_money::minor_unit);
    if let (Some(decimals), Some(unit)) = (decimals, unit)
        && value % unit != 0
    {
        errors.push(FieldError::new(
            field,
            format!("{currency} amounts have {decimals} decimals; {shown} has more."),
            shown,
        ));
        return None;
    }
    Some(value)
}

/// Debits equal credits in each currency, then in the base currency.
fn check_balance(
    data: &TenantData,
    base_currency: &str,
    lines: &[PostedLine],
    errors: &mut Vec<FieldError>,
) {
    let mut per_currency: BTreeMap<&str, (Money, Money)> = BTreeMap::new();
    for line in lines {
        let totals = per_currency.entry(&line.currency).or_default();
        totals.0 += line.debit_tc;
        totals.1 += line.credit_tc;
    }
    let mut balanced = true;
    for (currency, (debit, credit)) in per_currency {
        if debit != credit {
            balanced = false;
            let decimals = data.decimals(currency);
            errors.push(FieldError::new(
                "balance",
                format!(
                    "The entry does not balance in {currency}: debits {} and credits {}.",
                    fixed(debit, decimals),
                    fixed(credit, decimals)
                ),
                fixed(debit - credit, decimals),
            ));
        }
    }
    if !balanced {
        return;
    }
    let debit: Money = lines.iter().map(|l| l.debit_base).sum();
    let credit: Money = lines.iter().map(|l| l.credit_base).sum();
    if debit != credit {
        let decimals = data.decimals(base_currency);
        errors.push(FieldError::new(
            "balance.base",
            format!(
                "The entry does not balance in base currency {base_currency} after conversion: debits {} and credits {}.",
                fixed(debit, decimals),
                fixed(credit, decimals)
            ),
            fixed(debit - credit, decimals),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qad::model::DEMO_START;

    fn check(json: &str) -> Result<Draft, Vec<FieldError>> {
        let data = TenantData::demo(DEMO_START, 1);
        let workspace = data.workspaces[0].clone();
        validate(
            &data,
            &workspace,
            &RawObject::parse(json.as_bytes()).unwrap(),
        )
    }

    fn fields(json: &str) -> Vec<String> {
        check(json)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    const HEADER: &str = r#""entityCode": "10USACO", "daybookCode": "SO", "layerCode": "OFFICIAL",
        "postingDate": "2026-03-02", "postingYear": 2026, "postingPeriod": 3"#;

    #[test]
    fn a_balanced_entry_converts_each_line_to_base() {
        let draft = check(&format!(
            r#"{{{HEADER}, "lines": [
                {{"glCode": "1150", "currencyCode": "EUR", "debitTC": "100.00"}},
                {{"glCode": "4000", "currencyCode": "EUR", "creditTC": 100}}]}}"#
        ))
        .unwrap();
        assert_eq!(draft.lines[0].debit_base, 1_085_000);
        assert_eq!(draft.lines[1].credit_base, 1_085_000);
        assert_eq!(draft.lines[0].rate, Rate::parse("1.085").unwrap());
    }

    #[test]
    fn amounts_are_checked_per_line_and_rounding_can_unbalance_the_base() {
        let unbalanced = fields(&format!(
            r#"{{{HEADER}, "lines": [
                {{"glCode": "1150", "currencyCode": "EUR", "debitTC": "1.00"}},
                {{"glCode": "4000", "currencyCode": "EUR", "creditTC": "0.50"}},
                {{"glCode": "4100", "currencyCode": "EUR", "creditTC": "0.50"}}]}}"#
        ));
        assert_eq!(unbalanced, ["balance.base"]);
        let bad = fields(&format!(
            r#"{{{HEADER}, "lines": [
                {{"glCode": "1150", "currencyCode": "USD", "debitTC": "1", "creditTC": "1"}},
                {{"glCode": "4000", "currencyCode": "USD"}},
                {{"glCode": "4000", "currencyCode": "USD", "creditTC": "-1"}},
                {{"glCode": "4000", "currencyCode": "USD", "creditTC": "1.5.0"}},
                {{"glCode": "4000", "currencyCode": "USD", "creditTC": "1.005"}},
                {{"glCode": "4000", "currencyCode": "USD", "creditTC": "1", "exchangeRate": "1.1"}}]}}"#
        ));
        assert_eq!(
            bad,
            [
                "lines[0].debitTC",
                "lines[1].debitTC",
                "lines[2].creditTC",
                "lines[3].creditTC",
                "lines[4].creditTC",
                "lines[5].exchangeRate"
            ]
        );
    }

    #[test]
    fn header_errors_are_all_reported() {
        let errors = fields(
            r#"{"entityCode": "11CANCO", "daybookCode": "WEBSALES01", "layerCode": "X",
                "postingDate": "2026-04-01", "postingYear": 2026, "postingPeriod": 3,
                "lines": []}"#,
        );
        assert_eq!(
            errors,
            [
                "entityCode",
                "daybookCode",
                "layerCode",
                "postingDate",
                "lines"
            ]
        );
    }
}
