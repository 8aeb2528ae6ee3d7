from services.common.ids import new_id


def test_ids_are_distinct_hex_of_the_asked_length():
    ids = {new_id("req_") for _ in range(20_000)}
    assert len(ids) == 20_000
    one = next(iter(ids))
    assert one.startswith("req_") and len(one) == 4 + 32 and int(one[4:], 16) >= 0
    short = new_id("chatcmpl-", 24)
    assert len(short) == len("chatcmpl-") + 24
