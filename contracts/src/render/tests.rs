use serde_json::Value;

use super::yaml::quote;

#[test]
fn scalars_read_back_as_the_same_string() {
    for s in [
        "plain",
        "customer has funds",
        "application/json",
        "^pay_[0-9a-z]+$",
        "1999",
        "19.99",
        "1.0.0",
        "0x1f",
        "true",
        "No",
        "~",
        "",
        " lead",
        "a: b",
        "a #b",
        "-x",
        "${orderId}",
        "/orders/${orderId}",
        "multi\nline",
        "tab\there",
        "c0ffee",
        "2024-01-01",
        "10:15:30",
        "1e3",
        "+1",
        ".5",
        "o-1a2b3c4d5e6f",
        "it's",
        "\"quoted\"",
        "https://parley.dev/problems/payment-declined",
    ] {
        let text = format!("k: {}\nf: {{k: {}}}\n", quote(s), quote(s));
        let back: serde_json::Value = serde_norway::from_str(&text).expect(&text);
        assert_eq!(back["k"], Value::String(s.to_string()), "{text}");
        assert_eq!(back["f"]["k"], Value::String(s.to_string()), "{text}");
    }
}
