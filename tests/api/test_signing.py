"""The gateway signature, checked against gateway-signing.md's worked vector."""

from __future__ import annotations

from webui.api.signing import content_md5, path_and_parameters, sign_headers, string_to_sign

BODY = b'{"prompt":"a cat","n_iter":1,"batch_size":1,"seed":"-1"}'
PATH = "/AIGCImgOpenServ/saas/sd/v2/text2image"


def vector_headers() -> dict[str, str]:
    return sign_headers(method="POST", path=PATH, body=BODY, app_key="203000000",
                        app_secret="s3cr3tAppSecret", timestamp_ms=1700000000000,
                        nonce="0e2f5f7c-1a2b-4c3d-8e9f-001122334455")


def test_worked_vector() -> None:
    headers = vector_headers()
    assert headers["Content-MD5"] == "ZQ6b7rCMFW1gutcpGah/4A=="
    assert headers["X-Ca-Signature-Headers"] == (
        "X-Ca-Key,X-Ca-Nonce,X-Ca-Signature-Method,X-Ca-Timestamp")
    assert headers["X-Ca-Signature"] == "4G8TCSiYq50oObqDdtLLGSGwbfZF+++arZKJUMqC3OI="
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json;charset=UTF-8"


def test_string_to_sign_layout() -> None:
    headers = vector_headers()
    text = string_to_sign("POST", PATH, headers, headers["X-Ca-Signature-Headers"].split(","))
    assert text == (
        "POST\napplication/json\nZQ6b7rCMFW1gutcpGah/4A==\napplication/json;charset=UTF-8\n\n"
        "X-Ca-Key:203000000\nX-Ca-Nonce:0e2f5f7c-1a2b-4c3d-8e9f-001122334455\n"
        "X-Ca-Signature-Method:HmacSHA256\nX-Ca-Timestamp:1700000000000\n" + PATH)


def test_query_parameters_sorted_raw_and_empty_values_bare() -> None:
    params = {"pageSize": "10", "b": "x y", "a": "", "toolCode": "hair/change"}
    assert path_and_parameters("/p", params) == "/p?a&b=x y&pageSize=10&toolCode=hair/change"
    assert path_and_parameters("/p", {}) == "/p"
    signed = sign_headers(method="POST", path="/p", body=b"", app_key="k", app_secret="s",
                          timestamp_ms=1, nonce="n", params=params)
    unsigned = sign_headers(method="POST", path="/p", body=b"", app_key="k", app_secret="s",
                            timestamp_ms=1, nonce="n")
    assert signed["X-Ca-Signature"] != unsigned["X-Ca-Signature"]
    assert "Content-MD5" not in signed  # empty body: no Content-MD5 line value


def test_empty_lines_kept_when_headers_absent() -> None:
    text = string_to_sign("post", "/p", {}, [])
    assert text == "POST\n\n\n\n\n/p"


def test_signature_changes_with_every_byte_and_nonce() -> None:
    base = vector_headers()["X-Ca-Signature"]
    other_body = sign_headers(method="POST", path=PATH, body=BODY + b" ", app_key="203000000",
                              app_secret="s3cr3tAppSecret", timestamp_ms=1700000000000,
                              nonce="0e2f5f7c-1a2b-4c3d-8e9f-001122334455")
    other_nonce = sign_headers(method="POST", path=PATH, body=BODY, app_key="203000000",
                               app_secret="s3cr3tAppSecret", timestamp_ms=1700000000000,
                               nonce="another")
    assert base != other_nonce["X-Ca-Signature"]
    assert content_md5(BODY) != other_body["Content-MD5"]
