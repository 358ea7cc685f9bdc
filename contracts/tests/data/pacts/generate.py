"""Writes the pact-python pacts in this folder (see README.md).

Run from the repository root with a throwaway virtualenv outside the repo:

    python3 -m venv /tmp/pactpy && /tmp/pactpy/bin/pip install pact-python
    /tmp/pactpy/bin/python contracts/tests/data/pacts/generate.py

HTTP interactions are recorded the way a consumer test records them: the mock server is
started, the consumer's requests are sent to it, and the pact is written only if every
interaction was matched. Message interactions are checked with `Pact.verify` (a handler that
parses each message) before the pact is written.

Shapes follow parley's sample services (sample-services/README.md, sample-services/src/domain.rs)
so that the pacts can be verified against them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pact
from pact import Pact, generate, match

OUT = Path(__file__).resolve().parent


def call(base: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    """A consumer request against the mock server."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else {})
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text else {})


def write(p: Pact, name: str) -> None:
    """Writes the pact to a temporary folder and moves it to OUT/name."""
    with tempfile.TemporaryDirectory() as tmp:
        p.write_file(tmp, overwrite=True)
        (written,) = Path(tmp).glob("*.json")
        shutil.move(str(written), OUT / name)
    print("wrote", OUT / name)


def http_v4() -> None:
    """order-service → payment-service, Pact V4, HTTP with most matchers."""
    p = Pact("order-service", "payment-service").with_specification("V4")

    (
        p.upon_receiving("a charge for a customer with funds")
        .given("customer has funds", customerId="c-42")
        .with_request("POST", "/api/charge")
        .with_header("Content-Type", "application/json")
        .with_header("Idempotency-Key", match.regex("charge-o-1", regex=r"^charge-[a-z0-9-]+$"))
        .with_body(
            {
                "amount": match.int(1999, min=1),
                "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
                "customerId": match.like("c-42"),
                "orderId": match.like("o-1"),
            },
            "application/json",
        )
        .will_respond_with(201)
        .with_header("Content-Type", "application/json")
        .with_header(
            "Date",
            match.datetime(
                "Mon, 06 Jan 2025 10:15:30 GMT",
                "EEE, dd MMM yyyy HH:mm:ss zzz",
                disable_conversion=True,
            ),
        )
        .with_body(
            {
                "paymentId": match.regex("pay_7f3a9c01e2b4", regex=r"^pay_[0-9a-z]+$"),
                "status": "approved",
                "amount": match.integer(1999),
                "currency": match.str("USD"),
            },
            "application/json",
        )
    )

    (
        p.upon_receiving("a charge for a broke customer")
        .given("customer has no funds", {"customerId": "c-broke-1"})
        .with_request("POST", "/api/charge")
        .with_header("Content-Type", "application/json")
        .with_body(
            {"amount": 1999, "currency": "USD", "customerId": "c-broke-1"},
            "application/json",
        )
        .will_respond_with(402)
        .with_header("Content-Type", "application/problem+json")
        .with_body(
            {
                "type": match.includes("payment-declined"),
                "title": match.str("Payment Required"),
                "status": 402,
                "detail": match.includes("insufficient funds"),
            },
            "application/problem+json",
        )
    )

    (
        p.upon_receiving("a payment by its id")
        .given("a payment exists", paymentId="pay_7f3a9c01e2b4", amount=1999)
        .with_request(
            "GET",
            match.like(
                "/api/payments/pay_7f3a9c01e2b4",
                generator=generate.provider_state("/api/payments/${paymentId}"),
            ),
        )
        .will_respond_with(200)
        .with_body(
            {
                "paymentId": match.like(
                    "pay_7f3a9c01e2b4", generator=generate.provider_state("${paymentId}")
                ),
                "orderId": match.like("o-1"),
                "customerId": match.like("c-42"),
                "amount": match.int(1999),
                "currency": "USD",
                "status": match.regex("approved", regex=r"^(approved|refunded)$"),
            },
            "application/json",
        )
    )

    (
        p.upon_receiving("the payments of an order")
        .given("an order was charged", orderId="o-1")
        .with_request("GET", "/api/payments")
        .with_query_parameter("orderId", "o-1")
        .with_query_parameter("from", match.date("2025-01-06", "yyyy-MM-dd", disable_conversion=True))
        .with_query_parameter("fromTime", match.time("10:15:30", "HH:mm:ss", disable_conversion=True))
        .with_header("Accept", "application/json")
        .will_respond_with(200)
        .with_body(
            match.each_like(
                {
                    "paymentId": match.regex("pay_7f3a9c01e2b4", regex=r"^pay_[0-9a-z]+$"),
                    "orderId": "o-1",
                    "customerId": match.like("c-42"),
                    "amount": match.int(1999),
                    "currency": match.str("USD"),
                    "status": match.str("approved"),
                },
                min=1,
            ),
            "application/json",
        )
    )

    (
        p.upon_receiving("a refund of a payment")
        .given("a payment exists", paymentId="pay_7f3a9c01e2b4", amount=1999)
        .with_request("POST", "/api/refunds")
        .with_header("Content-Type", "application/json")
        .with_body({"paymentId": match.like("pay_7f3a9c01e2b4")}, "application/json")
        .will_respond_with(201)
        .with_body(
            {
                "paymentId": match.like("pay_7f3a9c01e2b4"),
                "status": "refunded",
                "amount": match.number(1999),
            },
            "application/json",
        )
    )

    with p.serve() as server:
        base = str(server.url).rstrip("/")
        status, body = call(
            base,
            "POST",
            "/api/charge",
            {"amount": 1999, "currency": "USD", "customerId": "c-42", "orderId": "o-1"},
            {"Content-Type": "application/json", "Idempotency-Key": "charge-o-1"},
        )
        assert status == 201 and body["status"] == "approved", (status, body)
        status, body = call(
            base,
            "POST",
            "/api/charge",
            {"amount": 1999, "currency": "USD", "customerId": "c-broke-1"},
            {"Content-Type": "application/json"},
        )
        assert status == 402, (status, body)
        status, body = call(base, "GET", "/api/payments/pay_7f3a9c01e2b4")
        assert status == 200 and body["paymentId"], (status, body)
        status, body = call(
            base,
            "GET",
            "/api/payments?orderId=o-1&from=2025-01-06&fromTime=10:15:30",
            headers={"Accept": "application/json"},
        )
        assert status == 200 and len(body) >= 1, (status, body)
        status, body = call(
            base,
            "POST",
            "/api/refunds",
            {"paymentId": "pay_7f3a9c01e2b4"},
            {"Content-Type": "application/json"},
        )
        assert status == 201 and body["status"] == "refunded", (status, body)
    write(p, "pact-python-v4-http.json")


def messages_v4() -> None:
    """payment-service consumes order-service's events (V4 asynchronous messages), and asks
    inventory-service for stock over NATS request/reply (a V4 synchronous message)."""
    p = Pact("payment-service", "order-service").with_specification("V4")

    (
        p.upon_receiving("an order created event", "Async")
        .given("an order was placed", orderId="o-1", customerId="c-42")
        .with_metadata(
            {
                "subject": "orders.created",
                "contentType": "application/json",
                "x-correlation-id": match.regex("c0ffee-1", regex=r"^[0-9a-z-]+$"),
                "Nats-Msg-Id": match.like("o-1:orders.created"),
            }
        )
        .with_body(
            {
                "orderId": match.regex("o-1", regex=r"^o-[0-9a-z]+$"),
                "customerId": match.like("c-42"),
                "total": match.int(1999, min=0),
                "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
                "items": match.each_like({"sku": match.str("A1"), "qty": match.int(2, min=1)}, min=1),
                "address": {"country": match.like("DE"), "city": match.like("Berlin")},
            },
            "application/json",
        )
    )

    (
        p.upon_receiving("an order cancelled event", "Async")
        .given("an order was cancelled", orderId="o-2")
        .with_metadata({"subject": "orders.cancelled", "contentType": "application/json"})
        .with_body(
            {
                "orderId": match.like("o-2"),
                "customerId": match.like("c-broke-1"),
                "status": "cancelled",
                "reason": match.includes("declined"),
            },
            "application/json",
        )
    )

    (
        p.upon_receiving("a stock query over request/reply", "Sync")
        .given("SKU A1 is in stock")
        .with_metadata({"subject": "inventory.stock.get"}, "Request")
        .with_body({"sku": "A1"}, "application/json", "Request")
        .will_respond_with()
        .with_metadata({"contentType": "application/json"}, "Response")
        .with_body(
            {
                "sku": "A1",
                "available": match.int(1000, min=0),
                "inStock": match.bool(True),
                "price": match.decimal(9.99),
            },
            "application/json",
            "Response",
        )
    )

    def handler(body, metadata) -> None:
        json.loads(body)

    p.verify(handler, "Async")
    p.verify(handler, "Sync")
    write(p, "pact-python-v4-messages.json")


def http_v3() -> None:
    """order-service → inventory-service, Pact V3 (the last version before V4)."""
    p = Pact("order-service", "inventory-service").with_specification("V3")
    (
        p.upon_receiving("the stock of a SKU")
        .given("SKU A1 is in stock", sku="A1", available=1000)
        .with_request("GET", "/api/stock/A1")
        .with_header("Accept", "application/json")
        .will_respond_with(200)
        .with_header("Content-Type", match.regex("application/json", regex=r"application/json.*"))
        .with_body({"sku": "A1", "available": match.int(1000, min=0)}, "application/json")
    )
    (
        p.upon_receiving("a reservation of stock")
        .given("SKU A1 is in stock", sku="A1", available=1000)
        .given("no reservation exists for the order", orderId="o-1")
        .with_request("POST", "/api/reservations")
        .with_header("Content-Type", "application/json")
        .with_body(
            {
                "orderId": match.like("o-1"),
                "items": match.each_like(
                    {"sku": match.regex("A1", regex=r"^[A-C][0-9]$"), "qty": match.int(2, min=1)},
                    min=1,
                ),
            },
            "application/json",
        )
        .will_respond_with(201)
        .with_body(
            {
                "reservationId": match.regex("res_0a1b2c3d4e5f", regex=r"^res_[0-9a-z]+$"),
                "orderId": match.like("o-1"),
                "status": "reserved",
            },
            "application/json",
        )
    )
    (
        p.upon_receiving("a reservation of a SKU out of stock")
        .given("SKU OUT-1 is out of stock")
        .with_request("POST", "/api/reservations")
        .with_header("Content-Type", "application/json")
        .with_body({"orderId": "o-3", "items": [{"sku": "OUT-1", "qty": 1}]}, "application/json")
        .will_respond_with(409)
        .with_body({"detail": match.includes("OUT-1")}, "application/problem+json")
    )
    with p.serve() as server:
        base = str(server.url).rstrip("/")
        status, body = call(base, "GET", "/api/stock/A1", headers={"Accept": "application/json"})
        assert status == 200, (status, body)
        status, body = call(
            base,
            "POST",
            "/api/reservations",
            {"orderId": "o-1", "items": [{"sku": "A1", "qty": 2}]},
            {"Content-Type": "application/json"},
        )
        assert status == 201, (status, body)
        status, body = call(
            base,
            "POST",
            "/api/reservations",
            {"orderId": "o-3", "items": [{"sku": "OUT-1", "qty": 1}]},
            {"Content-Type": "application/json"},
        )
        assert status == 409, (status, body)
    write(p, "pact-python-v3-http.json")


def messages_v3() -> None:
    """notification-service consumes order-service's events, Pact V3 message pact."""
    p = Pact("notification-service", "order-service").with_specification("V3")
    (
        p.upon_receiving("an order confirmed event", "Async")
        .given("an order was confirmed", orderId="o-1")
        .with_metadata({"subject": "orders.confirmed", "contentType": "application/json"})
        .with_body(
            {
                "orderId": match.like("o-1"),
                "customerId": match.like("c-42"),
                "status": "confirmed",
            },
            "application/json",
        )
    )
    p.verify(lambda body, metadata: json.loads(body), "Async")
    write(p, "pact-python-v3-messages.json")


if __name__ == "__main__":
    print("pact-python", pact.__version__)
    http_v4()
    messages_v4()
    http_v3()
    messages_v3()
