"""The upstream SSE reader keeps partial lines across socket reads and handles CRLF."""
from services.router.providers.openai_chat import SSEDecoder


def test_split_across_reads_and_crlf():
    d = SSEDecoder()
    assert d.feed(b'data: {"a"') == []
    assert d.feed(b':1}\r\n\r\ndata: [DO') == [b'{"a":1}']
    assert d.feed(b"NE]\n\n: comment\nevent: x\n") == [b"[DONE]"]
