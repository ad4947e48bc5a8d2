//! `payouts serve` as a black box: started on a free port with a fresh database, asked for its
//! health over HTTP, and shut down.

use std::time::Duration;

use payout_local::runtime::{ServeConfig, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[tokio::test]
async fn health_reports_the_queue_and_payouts() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        ServeConfig {
            db_path: dir.path().join("serve.db"),
            planner_interval: Duration::from_millis(50),
            worker_poll: Duration::from_millis(10),
            workers: 2,
            jwt_secret: "test-secret".into(),
        },
        listener,
        async {
            let _ = stopped.await;
        },
    ));

    let (status, body) = get(addr, "/api/v1/payout-scheduler/health").await;
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["queue"]["dead_letter"], 0);
    assert!(health["payouts_by_status"].is_object());

    let (status, _) = get(addr, "/api/v1/payout-scheduler/nope").await;
    assert_eq!(status, 404);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve stops on shutdown")
        .unwrap()
        .unwrap();
}
