//! Sending requests with bounded concurrency and timing each.

use super::*;

/// One request of a batch.
pub(crate) struct Call {
    pub(crate) method: reqwest::Method,
    pub(crate) url: String,
    pub(crate) body: Option<Value>,
}

impl Call {
    pub(crate) fn post(url: &str, body: Value) -> Call {
        Call {
            method: reqwest::Method::POST,
            url: url.to_string(),
            body: Some(body),
        }
    }

    pub(crate) fn get(url: String) -> Call {
        Call {
            method: reqwest::Method::GET,
            url,
            body: None,
        }
    }
}

/// Sends the calls with at most `in_flight` outstanding, from as many tasks; every answer is
/// expected to have status `expected` and an `orderId`.
pub(crate) async fn drive(
    client: &reqwest::Client,
    calls: Vec<Call>,
    in_flight: usize,
    expected: u16,
) -> Batch {
    let n = calls.len();
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight.min(n).max(1))
        .map(|_| {
            let client = client.clone();
            let calls = Arc::clone(&calls);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(call) = calls.get(i) else { break };
                    samples.push(send(&client, call, expected).await);
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(n);
    for worker in workers {
        match worker.await {
            Ok(s) => samples.extend(s),
            Err(e) => samples.push(Sample {
                latency: Duration::ZERO,
                sent: started,
                order_id: None,
                error: Some(format!("a load task failed: {e}")),
            }),
        }
    }
    Batch {
        samples,
        wall: started.elapsed(),
    }
}

pub(crate) async fn send(client: &reqwest::Client, call: &Call, expected: u16) -> Sample {
    let what = format!("{} {}", call.method, call.url);
    let sent = Instant::now();
    let result = async {
        let mut request = client
            .request(call.method.clone(), &call.url)
            .bearer_auth(TOKEN);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| format!("{what}: reading the answer: {e}"))?;
        if status != expected {
            return Err(format!("{what} answered {status}: {text}"));
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{what}: answer is not JSON ({e}): {text}"))?;
        value
            .get("orderId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("{what}: answer has no orderId: {text}"))
    }
    .await;
    let latency = sent.elapsed();
    match result {
        Ok(order_id) => Sample {
            latency,
            sent,
            order_id: Some(order_id),
            error: None,
        },
        Err(e) => Sample {
            latency,
            sent,
            order_id: None,
            error: Some(e),
        },
    }
}
