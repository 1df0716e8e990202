"""The test homeserver itself: two real users can talk through it."""

from nio import RoomCreateResponse

from tests.synapse.fixtures import UserFactory


async def test_two_users_exchange_a_message(matrix_user: UserFactory) -> None:
    alice = await matrix_user("alice")
    bob = await matrix_user("bob")
    created = await alice.client.room_create(invite=[bob.user_id], is_direct=True)
    assert isinstance(created, RoomCreateResponse)
    await bob.join(created.room_id)

    await alice.send_text(created.room_id, "hello bob")
    received = await bob.wait_for_text("hello bob", sender=alice.user_id)
    assert received.body == "hello bob"
