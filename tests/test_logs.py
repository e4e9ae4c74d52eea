from dropstream.logs import redact


def test_tokens_in_queries_headers_and_urls_are_redacted():
    text = ("GET https://acme.mybrightsites.com/api/v2.6.1/orders?token=abc123&page=2 "
            "X-API-TOKEN: abc123 sftp://wh1:pa55@host Authorization: Bearer eyJ.x.y")
    out = redact(text)
    assert "abc123" not in out and "pa55" not in out and "eyJ" not in out
    assert "page=2" in out and "sftp://wh1:[redacted]@host" in out
