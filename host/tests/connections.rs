//! Several connections in one store, worked by one process: three BigCommerce stores and
//! three QAD tenants, whose order ids overlap. Each store's changes and webhook deliveries
//! are interleaved with the others', and worked by `run`, then `sync`, then `replay`.
//! Each tenant's ledger must equal what a run of its connection alone leaves, and no
//! request of one connection may reach another's store (the simulator refuses a store's
//! requests made with another store's token).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::fleet::{SHOPS, changes, command, config, finish, idle, net};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_connections_in_one_store_each_post_exactly_their_own_ledger() {
    let all = [0, 1, 2];
    let fleet = common::fleet::fleet(&all, 60).await;
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let config = config(dir.path(), &fleet, &all, "every 1h", Some(&address));

    // `run`: the backfill at start, then webhooks for every store, interleaved.
    let mut child = command(dir.path(), &config, &["run", "--listen", &address])
        .env("ML_CONNECTOR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("service.log")).unwrap())
        .spawn()
        .unwrap();
    let url = format!("http://{address}");
    let mut up = false;
    for _ in 0..600 {
        if reqwest::get(format!("{url}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        up,
        "{}",
        std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
    );
    idle(&fleet, &url, Duration::from_secs(120)).await;
    changes(&fleet, 0..6);
    idle(&fleet, &url, Duration::from_secs(120)).await;
    // A second process working the same store is refused while `run` holds it.
    let out = command(dir.path(), &config, &["sync", "--once"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is in use by another ml-connector process"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = child.kill();
    let _ = child.wait();

    // `sync` over further changes, then `replay` of every record: nothing moves.
    changes(&fleet, 6..9);
    finish(command(dir.path(), &config, &["sync", "--once"])).await;
    let before: Vec<_> = SHOPS.iter().map(|(h, t, _)| net(&fleet, h, t)).collect();
    let replayed = finish(command(
        dir.path(),
        &config,
        &["replay", "--since", "2000-01-01T00:00:00Z"],
    ))
    .await;
    let after: Vec<_> = SHOPS.iter().map(|(h, t, _)| net(&fleet, h, t)).collect();
    assert_eq!(before, after, "a replay posts nothing new: {replayed}");
    assert_eq!(
        fleet.bigcommerce.counters().rejected_401,
        0,
        "no request reached a store with another store's token"
    );

    // Each connection alone, over the same stores and changes: the same ledger.
    let reference = common::fleet::fleet(&all, 60).await;
    changes(&reference, 0..9);
    for (i, (hash, tenant, _)) in SHOPS.iter().enumerate() {
        let alone = tempfile::tempdir().unwrap();
        let config = common::fleet::config(alone.path(), &reference, &[i], "every 1h", None);
        finish(command(alone.path(), &config, &["sync", "--once"])).await;
        let expected = net(&reference, hash, tenant);
        assert!(!expected.is_empty());
        assert_eq!(after[i], expected, "{hash}'s ledger in {tenant}");
    }
}
