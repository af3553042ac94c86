//! `ml-connector reconcile --from DATE --to DATE`: compares every BigCommerce order and
//! refund created or modified in the window with what QAD holds for it, and says what
//! differs: an entry the store recorded as posted that QAD no longer has (missing), an
//! entry QAD holds more than once (duplicated), one QAD holds that the store never
//! recorded (unrecorded), a document due a journal with nothing in QAD (not posted), and
//! amounts that differ between what the plugin maps for the document's current state and
//! the net of its entries in QAD, per account; then totals per account. Exit code 1 when
//! anything differs. Reads only: nothing is posted and no QAD customer is created.
//!
//! A document's entries are found in QAD by their deterministic references
//! (`<store>:order:<id>:r<n>`, `<store>:refund:<id>:r<n>`), read by prefix.

use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};

use super::Cli;
use super::connections::{ConnectionArgs, open_connections};
use crate::bigcommerce::orders::RefundsByOrder;
use crate::flows::jobs::{Listing, now_millis};
use crate::flows::ledger::{self, Net, Place};
use crate::flows::orders::OrderFlow;

#[derive(Args)]
pub struct ReconcileArgs {
    /// Start of the window: a day (YYYY-MM-DD, UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    from: String,
    /// End of the window: a day (included) or an RFC 3339 time (excluded).
    #[arg(long, value_name = "DATE")]
    to: String,
    /// Print one JSON object per connection instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connections: ConnectionArgs,
}

/// A day's start (or, for the end of the window, the next day's start), or a time.
fn bound(text: &str, end: bool, flag: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(time);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = Date::parse(text, &format).map_err(|_| {
        anyhow::anyhow!("{flag} `{text}` is neither a day (YYYY-MM-DD) nor an RFC 3339 time")
    })?;
    let day = if end {
        day.next_day()
            .ok_or_else(|| anyhow::anyhow!("{flag} `{text}` is too late"))?
    } else {
        day
    };
    Ok(day.with_time(Time::MIDNIGHT).assume_utc())
}

/// A source document in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Document {
    Order(u64),
    Refund { order: u64, refund: u64 },
}

impl Document {
    fn subject(self) -> String {
        match self {
            Document::Order(id) => format!("order:{id}"),
            Document::Refund { refund, .. } => format!("refund:{refund}"),
        }
    }
}

/// One thing that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    document: String,
    kind: &'static str,
    detail: String,
}

/// One document compared: what differs, and the expected and posted nets.
struct Compared {
    findings: Vec<Finding>,
    expected: Net,
    posted: Net,
}

/// `listed`: the document's order as the window's read listed it.
async fn compare(
    flow: &OrderFlow,
    document: Document,
    listed: Option<&Listing>,
) -> anyhow::Result<Compared> {
    let subject = document.subject();
    let prefix = format!("{}:{subject}:", flow.store_hash);
    let expected = match document {
        Document::Order(id) => flow.expected_order(id, listed).await,
        Document::Refund { order, refund } => {
            flow.expected_refund(order, refund, listed).await.map(Some)
        }
    };
    let journals = flow
        .ledger
        .journals_with_reference_prefix(&flow.policy.entity, &prefix)
        .await
        .with_context(|| format!("{}: reading {prefix}* from QAD", flow.connection))?;
    let revisions = flow.store.revisions(&flow.connection, &subject).await?;
    let mut findings = Vec::new();
    let mut finding = |kind, detail: String| {
        findings.push(Finding {
            document: subject.clone(),
            kind,
            detail,
        })
    };
    let mut by_reference: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for journal in &journals {
        by_reference
            .entry(&journal.external_reference)
            .or_default()
            .push(&journal.voucher);
    }
    for (reference, vouchers) in &by_reference {
        if vouchers.len() > 1 {
            finding(
                "duplicated",
                format!(
                    "{reference} is in QAD {} times (vouchers {})",
                    vouchers.len(),
                    vouchers.join(", ")
                ),
            );
        }
    }
    let recorded: BTreeSet<&str> = revisions
        .iter()
        .map(|r| r.external_reference.as_str())
        .collect();
    for revision in &revisions {
        let Some(voucher) = &revision.voucher else {
            continue;
        };
        if !by_reference.contains_key(revision.external_reference.as_str()) {
            finding(
                "missing",
                format!(
                    "{} is recorded as posted (voucher {voucher}) but QAD has no entry under it",
                    revision.external_reference
                ),
            );
        }
    }
    for reference in by_reference.keys() {
        if !recorded.contains(reference) {
            finding(
                "unrecorded",
                format!("QAD holds {reference}, which this store never recorded posting"),
            );
        }
    }
    let expected = match expected {
        Ok(entry) => entry.as_ref().map(ledger::net_of).unwrap_or_default(),
        Err(error) => {
            finding("unmappable", error.to_string());
            return Ok(Compared {
                findings,
                expected: Net::new(),
                posted: ledger::net_posted(&journals),
            });
        }
    };
    let posted = ledger::net_posted(&journals);
    let positions: BTreeSet<&Place> = expected.keys().chain(posted.keys()).collect();
    let differing: Vec<String> = positions
        .into_iter()
        .filter_map(|position| {
            let want = expected.get(position).copied().unwrap_or(0);
            let have = posted.get(position).copied().unwrap_or(0);
            (want != have).then(|| {
                let (currency, account, sub, cost) = position;
                let mut place = format!("{currency} {account}");
                for part in [sub, cost].into_iter().filter(|p| !p.is_empty()) {
                    place.push('/');
                    place.push_str(part);
                }
                format!(
                    "{place}: expected {}, QAD {}",
                    ledger::amount_text(want),
                    ledger::amount_text(have)
                )
            })
        })
        .collect();
    if !differing.is_empty() {
        let kind = if journals.is_empty() && revisions.is_empty() {
            "not posted"
        } else {
            "amounts"
        };
        finding(kind, differing.join("; "));
    }
    Ok(Compared {
        findings,
        expected,
        posted,
    })
}

/// The orders and refunds of the window, with the orders as listed for the flow to
/// reuse.
async fn documents(
    flow: &OrderFlow,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> anyhow::Result<(Vec<Document>, HashMap<u64, Listing>)> {
    let read_at = now_millis();
    let within = |t: OffsetDateTime| from <= t && t < to;
    let orders = flow
        .source
        .orders_modified_since(Some(from))
        .await
        .with_context(|| format!("{}: reading orders", flow.connection))?;
    let orders: Vec<_> = orders
        .into_iter()
        .filter(|o| within(o.date_created) || within(o.date_modified))
        .collect();
    let refunds = flow
        .source
        .refunds_created_since(from)
        .await
        .with_context(|| format!("{}: reading refunds", flow.connection))?;
    let mut documents: BTreeSet<Document> = orders.iter().map(|o| Document::Order(o.id)).collect();
    documents.extend(
        refunds
            .iter()
            .filter(|r| within(r.created))
            .map(|r| Document::Refund {
                order: r.order_id,
                refund: r.id,
            }),
    );
    flow.begin_poll(Arc::new(RefundsByOrder::new(refunds)));
    flow.prefetch_shoppers(&orders).await?;
    let listed = orders
        .iter()
        .map(|o| (o.id, Listing::of(o, read_at)))
        .collect();
    Ok((documents.into_iter().collect(), listed))
}

pub fn run(cli: &Cli, args: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    let from = bound(&args.from, false, "--from")?;
    let to = bound(&args.to, true, "--to")?;
    if to <= from {
        return Err(anyhow::anyhow!(
            "the window is empty: --to {} is not after --from {}",
            args.to,
            args.from
        ));
    }
    let (_store, connections) = open_connections(cli, &args.connections, None)?;
    let flows: Vec<_> = connections.iter().map(|c| c.orders.clone()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut differs = false;
    for flow in &flows {
        differs |= runtime.block_on(reconcile(flow, from, to, args.json))?;
    }
    Ok(if differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reconciles one connection and prints the result; true when anything differs.
async fn reconcile(
    flow: &OrderFlow,
    from: OffsetDateTime,
    to: OffsetDateTime,
    json: bool,
) -> anyhow::Result<bool> {
    let (documents, listed) = documents(flow, from, to).await?;
    let bar = super::progress_bar(documents.len(), "documents");
    bar.set_message(format!("reconciling {}", flow.connection));
    let mut findings = Vec::new();
    let mut expected_totals = BTreeMap::<(String, String), i128>::new();
    let mut posted_totals = BTreeMap::<(String, String), i128>::new();
    let mut differing_documents = 0;
    for document in &documents {
        let order = match document {
            Document::Order(id) | Document::Refund { order: id, .. } => id,
        };
        let compared = compare(flow, *document, listed.get(order)).await?;
        for ((currency, account, ..), net) in compared.expected {
            *expected_totals.entry((currency, account)).or_default() += net;
        }
        for ((currency, account, ..), net) in compared.posted {
            *posted_totals.entry((currency, account)).or_default() += net;
        }
        if !compared.findings.is_empty() {
            differing_documents += 1;
        }
        findings.extend(compared.findings);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let accounts: BTreeSet<&(String, String)> =
        expected_totals.keys().chain(posted_totals.keys()).collect();
    let totals: Vec<(String, String, i128, i128)> = accounts
        .into_iter()
        .map(|key| {
            let want = expected_totals.get(key).copied().unwrap_or(0);
            let have = posted_totals.get(key).copied().unwrap_or(0);
            (key.0.clone(), key.1.clone(), want, have)
        })
        .collect();
    let window = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    if json {
        let answer = json!({
            "connection": flow.connection,
            "from": window(from),
            "to": window(to),
            "documents": documents.len(),
            "documents_differing": differing_documents,
            "differences": findings.iter().map(|f| json!({
                "document": f.document, "kind": f.kind, "detail": f.detail,
            })).collect::<Vec<_>>(),
            "totals": totals.iter().map(|(currency, account, want, have)| json!({
                "currency": currency,
                "account": account,
                "expected": ledger::amount_text(*want),
                "qad": ledger::amount_text(*have),
                "difference": ledger::amount_text(have - want),
            })).collect::<Vec<_>>(),
        });
        println!("{answer}");
    } else {
        println!(
            "{}: {} documents created or changed from {} to {}",
            flow.connection,
            documents.len(),
            window(from),
            window(to)
        );
        for f in &findings {
            println!("{:<14} {:<11} {}", f.document, f.kind, f.detail);
        }
        println!(
            "totals per account (net debit; expected from the current documents, and in QAD):"
        );
        for (currency, account, want, have) in &totals {
            let mark = if want == have { "" } else { "  differs by " };
            let by = if want == have {
                String::new()
            } else {
                ledger::amount_text(have - want)
            };
            println!(
                "  {currency} {account:<10} expected {:>16}  QAD {:>16}{mark}{by}",
                ledger::amount_text(*want),
                ledger::amount_text(*have)
            );
        }
        println!(
            "{}: {} of {} documents differ",
            flow.connection,
            differing_documents,
            documents.len()
        );
    }
    Ok(!findings.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_bounds_the_window_inclusively() {
        let from = bound("2026-11-01", false, "--from").unwrap();
        let to = bound("2026-11-30", true, "--to").unwrap();
        assert_eq!(window_text(from), "2026-11-01T00:00:00Z");
        assert_eq!(window_text(to), "2026-12-01T00:00:00Z");
        let exact = bound("2026-11-05T10:00:00Z", true, "--to").unwrap();
        assert_eq!(window_text(exact), "2026-11-05T10:00:00Z");
        let error = bound("yesterday", false, "--from").unwrap_err();
        assert!(error.to_string().contains("--from `yesterday`"), "{error}");
    }

    fn window_text(t: OffsetDateTime) -> String {
        t.format(&Rfc3339).unwrap()
    }
}
