//! `api/erp/journalEntries`: posting a GL journal entry the way QAD Financials validates
//! it, and reading entries back by external reference (exact, or every entry whose
//! reference starts with `externalReferencePrefix`: a document's revisions), daybook or
//! voucher.
//!
//! A post carries one entry. Every check below that fails is its own `submitResult` error
//! with a `fieldName`, and nothing is posted unless all pass:
//!
//! - `entityCode`: exists and is the workspace's entity;
//! - `daybookCode`: at most 8 characters, exists for the entity, active, of type
//!   "Journal Entries";
//! - `layerCode`: exists;
//! - `postingDate` (`yyyy-mm-dd`) inside `postingYear`/`postingPeriod`, and that period
//!   Open (`postingPeriod` when Closed, Locked or missing);
//! - per line `lines[i].…`: `glCode` exists, is active and postable (not a header);
//!   `subAccountCode`, `costCenterCode`, `taxCode` where the account requires one;
//!   `currencyCode` exists; exactly one of `debitTC`/`creditTC` positive, none negative,
//!   within the currency's decimals (`debitTC`/`creditTC`); `exchangeRate` a positive
//!   decimal (at most 10 decimals), 1 for the base currency, and for a foreign currency
//!   given or found in the rate table for the posting date (`exchangeRate`);
//! - `balance`: debits equal credits in each currency; then `balance.base`: the base
//!   amounts (`TC × rate`, rounded half away from zero to the base currency's decimals per
//!   line) balance too, with no tolerance;
//! - `externalReference`: with the tenant's duplicate guard `Reject`, not already posted
//!   for the entity (`ReturnExisting` answers with the posted entry instead; `Off` posts
//!   again).
//!
//! [`post_entry`] is the one way into the ledger: QXtend's `createJournalEntry`
//! ([`super::qxtend`]) maps its QDoc onto these fields and posts through it too.
//!
//! A posted entry gets a voucher `<year>/<daybook>/<nnnnnn>` numbered per entity, year and
//! daybook. The answer echoes it with `debitTC`/`creditTC` in the currency's decimals,
//! `exchangeRate`, and the base amounts as `debitLC`/`creditLC`.
//!
//! The checks are in `validate`; this module reads entries back and posts them.

mod validate;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::response::Response;
use axum::routing::get;

use super::answers::{FieldError, data_answer, submit_success};
use super::erp::{JOURNALS, check_view, records};
use super::gate::Ctx;
use super::model::{PostedJournal, TenantData};
use super::params::Params;
use super::scope::{Scope, in_tenant};
use super::{DuplicateGuard, PREFIX, SharedState};
use crate::wire::RawObject;
use validate::validate;

pub(crate) fn router() -> Router<SharedState> {
    Router::new().route(
        &format!("{PREFIX}{}", JOURNALS.path),
        get(get_journals).post(post_journal),
    )
}

async fn get_journals(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &JOURNALS)?;
        let entity = params.value_or("entityCode", &scope.workspace.entity);
        let key = |name: &str| params.value(name);
        let data = scope.data();
        // By reference from the index; any other read walks the ledger.
        let candidates: Vec<&PostedJournal> = match key("externalReference") {
            Some(reference) => data
                .journals
                .with_reference(&entity, reference)
                .iter()
                .map(|&at| &data.journals[at])
                .collect(),
            None => data.journals.iter().collect(),
        };
        let records = candidates
            .into_iter()
            .filter(|j| j.entity == entity)
            .filter(|j| {
                key("externalReferencePrefix").is_none_or(|v| j.external_reference.starts_with(v))
            })
            .filter(|j| key("daybookCode").is_none_or(|v| j.daybook == v))
            .filter(|j| key("voucher").is_none_or(|v| j.voucher == v))
            .map(|j| data.journal_wire(j))
            .collect();
        Ok(data_answer(JOURNALS.collection, records))
    })
}

async fn post_journal(
    State(shared): State<SharedState>,
    Extension(ctx): Extension<Ctx>,
    params: Params,
    body: Bytes,
) -> Response {
    in_tenant(&shared, &ctx, |scope| {
        check_view(&params, &JOURNALS)?;
        let mut entries = records(&body, JOURNALS.collection)?;
        if entries.len() != 1 {
            return Err(vec![FieldError::new(
                JOURNALS.collection,
                "Post one journal entry per request.",
                entries.len().to_string(),
            )]);
        }
        let posting = post_entry(scope, &entries.remove(0))?;
        let data = &scope.tenant.account.data;
        let answer = data.journal_wire(&data.journals[posting.index]);
        Ok(submit_success(JOURNALS.collection, vec![answer]))
    })
}

/// What [`post_entry`] did: the entry's place in the tenant's ledger, and whether it was
/// posted now or is one already posted under the same external reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Posting {
    pub(crate) index: usize,
    pub(crate) new: bool,
}

/// Checks the entry and the duplicate guard, then posts it, all or nothing. The one path
/// into the ledger: REST's `journalEntries` and QXtend's `createJournalEntry` both post
/// through it, so both see the same validations, duplicate guard and vouchers.
pub(crate) fn post_entry(scope: &mut Scope, entry: &RawObject) -> Result<Posting, Vec<FieldError>> {
    let guard = scope.tenant.duplicate_guard;
    let data = &scope.tenant.account.data;
    let existing = posted_with_reference(data, entry);
    if let (DuplicateGuard::ReturnExisting, Some(index)) = (guard, existing) {
        scope.counters.duplicates_returned += 1;
        return Ok(Posting { index, new: false });
    }
    let checked = validate(data, &scope.workspace, entry);
    let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
    if let (DuplicateGuard::Reject, Some(index)) = (guard, existing) {
        scope.counters.duplicates_refused += 1;
        let posted = &data.journals[index];
        errors.push(FieldError::new(
            "externalReference",
            format!(
                "A journal entry with external reference {} already exists (voucher {}).",
                posted.external_reference, posted.voucher
            ),
            &posted.external_reference,
        ));
    }
    let draft = match checked {
        Ok(draft) if errors.is_empty() => draft,
        _ => return Err(errors),
    };
    let voucher = next_voucher(data, &draft.entity, draft.year, &draft.daybook);
    let journal = draft.post(voucher, scope.stamp());
    scope.counters.journals_posted += 1;
    let journals = &mut scope.data().journals;
    journals.push(journal);
    Ok(Posting {
        index: journals.len() - 1,
        new: true,
    })
}

/// The ledger index of an entry already posted for this entry's entity and external
/// reference.
fn posted_with_reference(data: &TenantData, entry: &RawObject) -> Option<usize> {
    let entity = entry.text_or_empty("entityCode").ok()?;
    let reference = entry.text_or_empty("externalReference").ok()?;
    if reference.is_empty() {
        return None;
    }
    data.journals
        .with_reference(&entity, &reference)
        .first()
        .copied()
}

/// `2026/SO/000001`: one more than the entity's highest for the year and daybook.
pub(crate) fn next_voucher(data: &TenantData, entity: &str, year: i32, daybook: &str) -> String {
    let prefix = format!("{year}/{daybook}/");
    let last = data.journals.last_number(entity, &prefix);
    format!("{prefix}{:06}", last + 1)
}
