//! Tests for `forward.rs`.

use super::*;

fn target(s: &str) -> ForwardTarget {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn http_targets_post_to_v1_traces() {
    let t = target("http://collector:4318");
    assert_eq!(t.protocol(), ForwardProtocol::HttpProtobuf);
    assert_eq!(t.endpoint(), "http://collector:4318/v1/traces");
    assert_eq!(
        t.to_string(),
        "http://collector:4318/v1/traces (OTLP/HTTP protobuf)"
    );
    assert_eq!(
        target("http://collector:4318/").endpoint(),
        "http://collector:4318/v1/traces"
    );
    assert_eq!(
        target("http://tempo/otlp/v1/traces").endpoint(),
        "http://tempo/otlp/v1/traces"
    );
    assert_eq!(
        target("http://tempo/otlp/?tenant=a").endpoint(),
        "http://tempo/otlp/v1/traces?tenant=a"
    );
    assert_eq!(
        target("HTTP://[::1]:4318").endpoint(),
        "http://[::1]:4318/v1/traces"
    );
}

#[test]
fn grpc_targets() {
    let t = target("grpc://jaeger:4317");
    assert_eq!(t.protocol(), ForwardProtocol::Grpc);
    assert_eq!(t.endpoint(), "http://jaeger:4317");
    assert_eq!(t.to_string(), "grpc://jaeger:4317 (OTLP/gRPC)");
    assert_eq!(target("grpc://jaeger").endpoint(), "http://jaeger:4317");
    let t = target("http://jaeger:4317")
        .with_protocol(ForwardProtocol::Grpc)
        .expect("explicit grpc");
    assert_eq!(t.endpoint(), "http://jaeger:4317");
    assert_eq!(t.to_string(), "http://jaeger:4317 (OTLP/gRPC)");
    let err = target("grpc://jaeger:4317")
        .with_protocol(ForwardProtocol::HttpProtobuf)
        .expect_err("conflict");
    assert!(err.to_string().contains("grpc://"), "{err}");
}

#[test]
fn bad_targets_say_what_to_do() {
    for (url, expected) in [
        ("collector:4318", "missing scheme"),
        ("localhost", "missing scheme"),
        ("https://collector:4318", "TLS is not supported"),
        ("ftp://x", "unsupported scheme ftp"),
        ("grpc://x:4317/path", "takes no path"),
        ("http://user:pw@x:4318", "credentials"),
        ("http://", "invalid"),
        ("", "invalid"),
    ] {
        let err = url.parse::<ForwardTarget>().expect_err(url).to_string();
        assert!(err.contains(expected), "{url}: {err}");
    }
}

#[test]
fn protocols_parse_like_the_otel_variable() {
    assert_eq!("grpc".parse(), Ok(ForwardProtocol::Grpc));
    assert_eq!("http/protobuf".parse(), Ok(ForwardProtocol::HttpProtobuf));
    assert_eq!("HTTP/JSON".parse(), Ok(ForwardProtocol::HttpJson));
    assert!("thrift".parse::<ForwardProtocol>().is_err());
}

#[test]
fn headers_are_validated() {
    let mut config = ForwardConfig::new(target("http://x:4318"));
    config.headers = vec![("bad header".into(), "v".into())];
    assert!(matches!(
        Forwarder::new(config.clone()),
        Err(ForwardError::Header { .. })
    ));
    config.headers = vec![("Authorization".into(), "Bearer t".into())];
    assert!(Forwarder::new(config.clone()).is_ok());
    config.target = target("grpc://x");
    assert!(Forwarder::new(config).is_ok());
}

#[test]
fn retry_after() {
    let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(
        parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
        Some(0),
        "the epoch"
    );
    assert_eq!(
        parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
        Some(1_835_481_599)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-1", now), None);
}

#[test]
fn grpc_retry_info_is_read() {
    use super::super::http::ProtoAny;
    let info = RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: 2,
            nanos: 500_000_000,
        }),
    };
    let status = RpcStatus {
        code: 8,
        message: "slow down".into(),
        details: vec![ProtoAny {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
            value: info.encode_to_vec(),
        }],
    };
    assert_eq!(
        grpc_retry_delay(&status.encode_to_vec()),
        Some(Duration::from_millis(2500))
    );
    assert_eq!(grpc_retry_delay(&[]), None);
    let uri: Uri = "http://x:4317".parse().expect("uri");
    let s = tonic::Status::with_details(
        tonic::Code::ResourceExhausted,
        "slow down",
        status.encode_to_vec().into(),
    );
    assert_eq!(
        classify_grpc(&uri, &s),
        DeliveryError::Transient {
            message: "OTLP/gRPC export to http://x:4317/: ResourceExhausted: slow down".into(),
            retry_after: Some(Duration::from_millis(2500)),
        }
    );
    let s = tonic::Status::invalid_argument("bad");
    assert!(matches!(
        classify_grpc(&uri, &s),
        DeliveryError::Permanent { .. }
    ));
}
