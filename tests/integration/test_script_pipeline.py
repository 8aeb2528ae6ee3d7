"""ScriptPipeline: script calls without a SCRIPT EXISTS round trip, and still correct after SCRIPT FLUSH."""
from services.common.script_pipeline import ScriptPipeline

INCR = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


async def test_replies_in_order_with_plain_commands_between(redis_client):
    script = redis_client.register_script(INCR)
    pipe = ScriptPipeline(redis_client)
    pipe.script(script, ["ty:test:a"], [2])
    pipe.command("SADD", "ty:test:s", "x")
    pipe.script(script, ["ty:test:a"], [3])
    assert await pipe.execute() == [2, 1, 5]


async def test_a_flushed_script_is_loaded_and_each_call_applied_exactly_once(redis_client):
    script = redis_client.register_script(INCR)
    await redis_client.script_flush()
    pipe = ScriptPipeline(redis_client)
    pipe.script(script, ["ty:test:b"], [1])
    pipe.command("INCRBY", "ty:test:c", 10)
    pipe.script(script, ["ty:test:b"], [1])
    assert await pipe.execute() == [1, 10, 2]
    assert int(await redis_client.get("ty:test:b")) == 2
    assert int(await redis_client.get("ty:test:c")) == 10  # the plain command was not re-sent


async def test_a_script_error_is_raised(redis_client):
    failing = redis_client.register_script("return redis.error_reply('boom')")
    pipe = ScriptPipeline(redis_client)
    pipe.script(failing, [], [])
    try:
        await pipe.execute()
    except Exception as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("the script's error was swallowed")
