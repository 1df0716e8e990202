"""A group of three: commands carry @botname, only the admin (or the creator) may close, languages differ."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import _, using_locale
from tests.botapi import FakeBotAPI
from tests.telegram.harness import button, start_harness

BOT = "@interlink_test_bot"


async def test_group_of_three_with_an_admin(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path, http=True) as harness:
        alice, bob, carol = api.user(201, "Alice", "en"), api.user(202, "Bob", "en"), api.user(203, "Carol", "en")
        group = api.group(-100200, "Via Roma neighbours", [alice, bob, carol], admins=[alice])

        # A command for another bot in the same group is not ours to answer.
        api.send_text(bob, group, "/poll@some_other_bot Not for us | A | B")
        # Privacy mode: plain chatter never reaches the bot; commands with our name do.
        assert api.send_text(carol, group, "hello everyone") is None
        api.send_text(bob, group, f"/poll{BOT} Bench colour? | Green | Blue")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(group.id)))
        assert len(api.sent_to(group.id)) == 1, "only the poll of the command addressed to us"
        poll = api.sent_to(group.id)[0]
        assert "Bench colour?" in poll.text

        for user, choice in ((alice, "Green"), (bob, "Blue"), (carol, "Blue")):
            api.press(user, group, poll.message_id, button(poll, choice))
        await api.wait_for(lambda: len(api.answered) == 3)
        await api.wait_for(lambda: "Blue (2)" in str(api.current(group.id, poll.message_id)))
        assert "Green (1)" in str(api.current(group.id, poll.message_id))

        # Carol is neither the creator nor an administrator: she cannot close the poll.
        api.send_text(carol, group, f"/close{BOT} 1")
        await api.wait_for(lambda: len(api.sent_to(group.id)) >= 2 and api.sent_to(group.id)[-1].method
                           == "sendMessage")
        assert await harness.outcomes(1, within=1.0) == []

        # Alice is a chat administrator (getChatMember), hence an organiser: she can.
        api.send_text(alice, group, f"/close{BOT} 1")
        outcomes = await harness.outcomes(1)
        assert len(outcomes) == 1 and "Blue" in str(outcomes[0])
        assert any(c[0] == "getChatAdministrators" for c in api.calls)


async def test_anonymous_admin_counts_as_organiser(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path, http=True) as harness:
        bob, carol = api.user(202, "Bob", "en"), api.user(203, "Carol", "en")
        group = api.group(-100300, "Park friends", [bob, carol])
        api.send_text(bob, group, f"/poll{BOT} Picnic day? | Saturday | Sunday")
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(group.id)))
        api.send_text(carol, group, f"/close{BOT} 1")
        await api.wait_for(lambda: len(api.sent_to(group.id)) >= 2)
        assert await harness.outcomes(1, within=1.0) == []
        api.send_as_anonymous_admin(group, f"/close{BOT} 1")
        assert len(await harness.outcomes(1)) == 1


async def test_language_code_picks_the_locale(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        english, italian = api.user(301, "Emma", "en"), api.user(302, "Giulia", "it-IT")
        for user in (english, italian):
            api.send_text(user, api.private_chat(user), "/help")
        await api.wait_for(lambda: api.sent_to(english.id) and api.sent_to(italian.id))
        # Whatever the catalogs say today, each user reads the heading of /help in their own language.
        for user, locale in ((english, "en"), (italian, "it")):
            with using_locale(locale):
                heading = _("Commands you can use here:")
            assert api.sent_to(user.id)[0].text.startswith(heading)


async def test_a_poll_in_a_forum_topic_stays_in_that_topic(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_harness(api, tmp_path):
        alice, bob = api.user(241, "Alice"), api.user(242, "Bob")
        forum = api.group(-100240, "Neighbourhood forum", [alice, bob])
        api.send_text(alice, forum, f"/poll{BOT} Street party date? | June | July", topic=77)
        await api.wait_for(lambda: any(s.buttons for s in api.sent_to(forum.id)))
        poll = next(s for s in api.sent_to(forum.id) if s.buttons)
        assert poll.thread_id == 77
        api.press(bob, forum, poll.message_id, button(poll, "July"))
        await api.wait_for(lambda: "July (1)" in str(api.current(forum.id, poll.message_id)))
        api.send_text(bob, forum, f"/results{BOT} 1", topic=77)
        await api.wait_for(lambda: len([s for s in api.sent_to(forum.id) if s.method == "sendMessage"]) == 2)
        assert all(s.thread_id == 77 for s in api.sent_to(forum.id) if s.method == "sendMessage")
