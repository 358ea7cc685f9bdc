//! The private nats-server helper against the real binary.

use std::time::Duration;

use futures::StreamExt;
use parley_harness::nats::NatsServer;

#[tokio::test]
async fn starts_a_private_jetstream_server_and_stops_it_on_drop() {
    let server = tokio::task::spawn_blocking(NatsServer::start)
        .await
        .expect("join")
        .expect("nats-server starts (install it with apt-get install nats-server)");
    assert_ne!(server.port(), 4222, "never the machine's shared server");
    let store = server.store_dir().to_path_buf();
    assert!(store.is_dir());

    let client = async_nats::connect(server.url()).await.expect("connects");
    let js = async_nats::jetstream::new(client.clone());
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: "PROBE".into(),
        subjects: vec!["probe.>".into()],
        ..Default::default()
    })
    .await
    .expect("JetStream is enabled");
    let ack = js
        .publish("probe.one", "hello".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    assert_eq!(ack.stream, "PROBE");

    let mut sub = client.subscribe("core.>").await.expect("subscribe");
    client
        .publish("core.x", "hi".into())
        .await
        .expect("publish");
    let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("message in time")
        .expect("message");
    assert_eq!(&msg.payload[..], b"hi");

    let pid = server.pid();
    drop(client);
    drop(server);
    // The process is gone and its store removed.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(!store.exists());
}

#[tokio::test]
async fn two_servers_do_not_share_anything() {
    let a = tokio::task::spawn_blocking(NatsServer::start)
        .await
        .expect("join")
        .expect("a");
    let b = tokio::task::spawn_blocking(NatsServer::start)
        .await
        .expect("join")
        .expect("b");
    assert_ne!(a.port(), b.port());
    assert_ne!(a.store_dir(), b.store_dir());
}
