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
pub(crate) fn bound(text: &str, end: bool, flag: &str) -> anyhow::Result<OffsetDateTime> {
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
pub(crate) struct Finding {
    pub document: String,
    pub kind: &'static str,
    pub detail: String,
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
    reading: Reading,
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
    if reading == Reading::OwnFlow {
        flow.begin_poll(Arc::new(RefundsByOrder::new(refunds)));
        flow.prefetch_shoppers(&orders).await?;
    }
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
        let bar = super::progress_bar(0, "documents");
        bar.set_message(format!("reconciling {}", flow.connection));
        let progress = |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let report = runtime.block_on(report(flow, from, to, Reading::OwnFlow, &progress))?;
        bar.finish_and_clear();
        if args.json {
            println!("{}", report.json());
        } else {
            report.print();
        }
        differs |= !report.findings.is_empty();
    }
    Ok(if differs {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether a reconciliation may read ahead into the connection's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The flow is this command's own: the window's refunds and shoppers are read ahead
    /// into it (a request for many rather than one per order).
    OwnFlow,
    /// The flow is the running service's (the console in `run`): it is left alone, and
    /// each document reads its refunds itself.
    Shared,
}

/// One account's totals over the window: expected from the current documents, and in
/// QAD (net debits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Total {
    pub currency: String,
    pub account: String,
    pub expected: i128,
    pub qad: i128,
}

/// A window reconciled.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub connection: String,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub documents: usize,
    pub documents_differing: usize,
    pub findings: Vec<Finding>,
    pub totals: Vec<Total>,
}

/// Compares the window's documents of one connection with QAD; `progress` is told the
/// documents compared and their number as it goes.
pub(crate) async fn report(
    flow: &OrderFlow,
    from: OffsetDateTime,
    to: OffsetDateTime,
    reading: Reading,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<Report> {
    let (documents, listed) = documents(flow, from, to, reading).await?;
    progress(0, documents.len());
    let mut findings = Vec::new();
    let mut expected_totals = BTreeMap::<(String, String), i128>::new();
    let mut posted_totals = BTreeMap::<(String, String), i128>::new();
    let mut documents_differing = 0;
    for (done, document) in documents.iter().enumerate() {
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
            documents_differing += 1;
        }
        findings.extend(compared.findings);
        progress(done + 1, documents.len());
    }
    let accounts: BTreeSet<&(String, String)> =
        expected_totals.keys().chain(posted_totals.keys()).collect();
    let totals = accounts
        .into_iter()
        .map(|key| Total {
            currency: key.0.clone(),
            account: key.1.clone(),
            expected: expected_totals.get(key).copied().unwrap_or(0),
            qad: posted_totals.get(key).copied().unwrap_or(0),
        })
        .collect();
    Ok(Report {
        connection: flow.connection.clone(),
        from,
        to,
        documents: documents.len(),
        documents_differing,
        findings,
        totals,
    })
}

fn window_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A CSV field: quoted when it must be, and a text that a spreadsheet would take for a
/// formula led by a quote mark.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl Report {
    pub fn json(&self) -> serde_json::Value {
        json!({
            "connection": self.connection,
            "from": window_text(self.from),
            "to": window_text(self.to),
            "documents": self.documents,
            "documents_differing": self.documents_differing,
            "differences": self.findings.iter().map(|f| json!({
                "document": f.document, "kind": f.kind, "detail": f.detail,
            })).collect::<Vec<_>>(),
            "totals": self.totals.iter().map(|t| json!({
                "currency": t.currency,
                "account": t.account,
                "expected": ledger::amount_text(t.expected),
                "qad": ledger::amount_text(t.qad),
                "difference": ledger::amount_text(t.qad - t.expected),
            })).collect::<Vec<_>>(),
        })
    }

    /// Every difference, then every account's totals, one row each; amounts as decimals.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "connection,row,document,kind,detail,currency,account,expected,qad,difference\r\n",
        );
        let connection = csv_field(&self.connection);
        for f in &self.findings {
            out.push_str(&format!(
                "{connection},difference,{},{},{},,,,,\r\n",
                csv_field(&f.document),
                csv_field(f.kind),
                csv_field(&f.detail)
            ));
        }
        for t in &self.totals {
            out.push_str(&format!(
                "{connection},total,,,,{},{},{},{},{}\r\n",
                csv_field(&t.currency),
                csv_field(&t.account),
                ledger::amount_text(t.expected),
                ledger::amount_text(t.qad),
                ledger::amount_text(t.qad - t.expected)
            ));
        }
        out
    }

    fn print(&self) {
        println!(
            "{}: {} documents created or changed from {} to {}",
            self.connection,
            self.documents,
            window_text(self.from),
            window_text(self.to)
        );
        for f in &self.findings {
            println!("{:<14} {:<11} {}", f.document, f.kind, f.detail);
        }
        println!(
            "totals per account (net debit; expected from the current documents, and in QAD):"
        );
        for t in &self.totals {
            let (mark, by) = if t.expected == t.qad {
                ("", String::new())
            } else {
                ("  differs by ", ledger::amount_text(t.qad - t.expected))
            };
            println!(
                "  {} {:<10} expected {:>16}  QAD {:>16}{mark}{by}",
                t.currency,
                t.account,
                ledger::amount_text(t.expected),
                ledger::amount_text(t.qad)
            );
        }
        println!(
            "{}: {} of {} documents differ",
            self.connection, self.documents_differing, self.documents
        );
    }
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

    #[test]
    fn a_report_exports_as_csv_with_fields_quoted_and_formulas_defused() {
        let report = Report {
            connection: "main".into(),
            from: bound("2026-11-01", false, "--from").unwrap(),
            to: bound("2026-11-30", true, "--to").unwrap(),
            documents: 2,
            documents_differing: 1,
            findings: vec![Finding {
                document: "order:7".into(),
                kind: "amounts",
                detail: "USD 4000: expected -10.00, QAD -9.00; \"x\"".into(),
            }],
            totals: vec![Total {
                currency: "USD".into(),
                account: "=1+1".into(),
                expected: -100_000,
                qad: -90_000,
            }],
        };
        let csv = report.csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "connection,row,document,kind,detail,currency,account,expected,qad,difference"
        );
        assert_eq!(
            lines[1],
            r#"main,difference,order:7,amounts,"USD 4000: expected -10.00, QAD -9.00; ""x""",,,,,"#
        );
        assert_eq!(lines[2], "main,total,,,,USD,'=1+1,-10.0000,-9.0000,1.0000");
        assert_eq!(lines[3], "");
    }
}
