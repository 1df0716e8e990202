"""The ``interlink`` command as a newcomer uses it: a piped console script, then the PA side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.net import free_port

SCRIPT = """\
@ann /start
@ben /poll Which day for the clean-up? | Saturday | Sunday
@cat /vote 1 1
@ben [2]
@ann [2]
@cat /vote 1 2
@ann /close 1
"""


def interlink(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    (tmp_path / "interlink.toml").touch()
    full_env = {
        **os.environ,
        "INTERLINK_CONFIG": str(tmp_path / "interlink.toml"),
        "INTERLINK_STATE_DIR": str(tmp_path / "var"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
        env=full_env, timeout=timeout, cwd=tmp_path,
    )


def test_console_script_reaches_summary_and_api(tmp_path: Path) -> None:
    console = interlink(tmp_path, "console", stdin=SCRIPT)
    assert console.returncode == 0, console.stderr
    assert "Poll #1 is closed: Which day for the clean-up?" in console.stdout
    assert "Result: “Sunday” with 3 votes." in console.stdout

    summary = interlink(tmp_path, "summary", "--format", "json")
    assert summary.returncode == 0, summary.stderr
    [outcome] = json.loads(summary.stdout)
    assert outcome["kind"] == "poll" and outcome["initiative"] == "Console"
    assert outcome["title"] == "Which day for the clean-up?"
    assert outcome["result"]["options"] == [{"label": "Saturday", "votes": 0}, {"label": "Sunday", "votes": 3}]
    assert outcome["decided_at"].endswith("+00:00")

    csv_out = interlink(tmp_path, "summary", "--format", "csv", "--initiative", "Console").stdout.splitlines()
    assert csv_out[0] == "id,initiative,kind,title,decided_at_utc,option,votes,total_votes,winner,anonymous,closed_by"
    assert [row.split(",")[5:] for row in csv_out[1:]] == [["Saturday", "0", "3", "Sunday", "no", "hand"],
                                                         ["Sunday", "3", "3", "Sunday", "no", "hand"]]
    assert interlink(tmp_path, "summary", "--initiative", "Elsewhere", "--format", "json").stdout.strip() == "[]"
    text = interlink(tmp_path, "summary", "--locale", "en").stdout
    assert "Which day for the clean-up?" in text and "Sunday: 3 votes" in text
    assert "total: 3 votes · winner: Sunday · closed by hand" in text
    assert "(Europe/Rome)" in text  # local time, its zone named (the CSV's column says UTC)
    italian = interlink(tmp_path, "summary", "--locale", "it").stdout
    assert "totale: 3 voti · vincitore: Sunday · chiuso a mano" in italian

    # The API is an officer's: one who sees every initiative, and a read key for them, as an operator makes them.
    added = interlink(tmp_path, "officers", "add", "Giulia Rossi", "--all")
    assert added.returncode == 0, added.stderr
    officer = added.stdout.splitlines()[0].removeprefix("officer ").partition(":")[0]
    made = interlink(tmp_path, "officers", "key", officer, "--scope", "read")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "INTERLINK_CONFIG": str(tmp_path / "interlink.toml"),
             "INTERLINK_STATE_DIR": str(tmp_path / "var"), "INTERLINK_HTTP_PORT": str(port)},
    )
    outcomes_url = f"http://127.0.0.1:{port}/api/v1/outcomes"
    try:
        body = None
        for _ in range(100):
            try:
                request = urllib.request.Request(outcomes_url, headers={"Authorization": f"Bearer {key}"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    body = json.loads(response.read())
                    break
            except urllib.error.HTTPError:
                raise  # the server answered: no retrying a refusal
            except OSError:  # not listening yet
                time.sleep(0.1)
        assert body == {"items": [outcome], "next_cursor": None}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(outcomes_url, timeout=2)
        with refused.value:
            assert refused.value.code == 401
            assert json.loads(refused.value.read())["error"]["code"] == "unauthenticated"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            assert json.loads(response.read()) == {"status": "ok", "dead_letters": 0}
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INTERLINK_HTTP_PORT": "eighty"}, "INTERLINK_HTTP_PORT must be a whole number (got 'eighty')"),
        ({"INTERLINK_HTTP_PORT": "70000"}, "INTERLINK_HTTP_PORT must be between 0 and 65535 (got 70000)"),
        ({"INTERLINK_TIMEZONE": "Mars/Olympus"}, "INTERLINK_TIMEZONE is not a known time zone (got 'Mars/Olympus')"),
        ({"INTERLINK_DEFAULT_LOCALE": "fr"}, "INTERLINK_DEFAULT_LOCALE must be one of en, it, es, lv (got 'fr')"),
        ({"INTERLINK_SECRET": "short"}, "INTERLINK_SECRET must be at least 16 characters long"),
        ({"INTERLINK_DATABASE_URL": "interlink.db"}, "INTERLINK_DATABASE_URL must be a sqlite:/// or postgresql://"),
        ({"INTERLINK_DATABASE_URL": "mysql://bot:pw@db/interlink"},
         "INTERLINK_DATABASE_URL must be a sqlite:/// or postgresql:// URL (got 'db/interlink')"),
        ({"INTERLINK_LOG_LEVEL": "loud"}, "INTERLINK_LOG_LEVEL must be one of debug, info, warning, error, critical"),
    ],
)
def test_bad_config_fails_with_one_line_naming_the_key(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = interlink(tmp_path, "db", "upgrade", env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    assert interlink(tmp_path, "db", "upgrade").returncode == 0
    secret_file = tmp_path / "var" / "secret"
    first = secret_file.read_text()
    assert len(first.strip()) >= 32 and oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert interlink(tmp_path, "db", "upgrade").returncode == 0
    assert secret_file.read_text() == first


def test_config_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "interlink.toml").write_text('default_locale = "it"\nhttp_port = "nope"\n')
    result = interlink(tmp_path, "db", "upgrade", env={"INTERLINK_HTTP_PORT": "8081"})
    assert result.returncode == 0, result.stderr
    (tmp_path / "interlink.toml").write_text('http_port = "nope"\n')
    assert "INTERLINK_HTTP_PORT must be a whole number" in interlink(tmp_path, "db", "upgrade").stderr


def test_dead_letters_are_listed_and_replayed_from_the_command_line(tmp_path: Path) -> None:
    listed = interlink(tmp_path, "dead-letters", "list")
    assert listed.returncode == 0 and listed.stdout == "no dead letters\n", listed.stderr
    replayed = interlink(tmp_path, "dead-letters", "replay", "7")
    assert replayed.returncode == 0 and replayed.stdout == "7: not found\n0 dead letter(s) left\n", replayed.stderr


def test_a_second_process_on_one_sqlite_file_refuses_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "interlink.toml").touch()
    env = {**os.environ, "INTERLINK_CONFIG": str(tmp_path / "interlink.toml"),
           "INTERLINK_STATE_DIR": str(tmp_path / "var")}
    first = subprocess.Popen([sys.executable, "-m", "bot.cli", "console"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path, text=True)
    try:
        assert first.stdin is not None and first.stdout is not None
        first.stdin.write("/start\n")
        first.stdin.flush()
        assert first.stdout.readline().startswith("bot: Hello"), "the first process serves the database"
        second = interlink(tmp_path, "console", stdin="/start\n")
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"interlink: another interlink process (pid {first.pid}) already serves {tmp_path}/var/interlink.db; "
            "SQLite serves one process: stop it, or use PostgreSQL (INTERLINK_DATABASE_URL) for several workers"
        ]
        assert "Hello" not in second.stdout
    finally:
        first.communicate(timeout=30)


def test_a_worker_on_postgresql_without_a_shared_secret_refuses_with_one_line(tmp_path: Path) -> None:
    result = interlink(tmp_path, "serve", env={"INTERLINK_DATABASE_URL": "postgresql://x@127.0.0.1:1/interlink",
                                               "INTERLINK_SECRET": ""})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("interlink: INTERLINK_SECRET must be set when the "
                                                             "database is PostgreSQL")
    assert "Traceback" not in result.stderr


def test_a_misspelt_key_in_the_config_file_is_named_with_the_closest_one(tmp_path: Path) -> None:
    (tmp_path / "interlink.toml").write_text('timezone = "Europe/Riga"\ndefault_locle = "lv"\n')
    result = interlink(tmp_path, "console", stdin="")
    assert result.returncode == 2
    assert result.stderr == "interlink: interlink.toml: unknown key 'default_locle'; did you mean 'default_locale'?\n"


def test_a_taken_http_port_is_one_line_naming_the_key(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = interlink(tmp_path, "serve", env={"INTERLINK_HTTP_PORT": str(port)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr  # the start logs what it did (INFO); then one line says why it stops
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"interlink: INTERLINK_HTTP_PORT {port} on INTERLINK_HTTP_HOST 127.0.0.1 cannot be used")


def test_a_summary_where_there_is_no_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = interlink(tmp_path, "summary")
    assert result.returncode == 2
    assert result.stderr.startswith("interlink: no database at ") and "INTERLINK_DATABASE_URL" in result.stderr
    assert not (tmp_path / "var").exists(), "neither a database nor a secret may be left behind"


def test_version_and_subcommand_help(tmp_path: Path) -> None:
    version = interlink(tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("interlink ")
    assert "Print the outcomes the PA side has received." in interlink(tmp_path, "summary", "--help").stdout


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    from bot.summary import render

    formulas = ["=HYPERLINK(\"http://x\")", "=1+1", "@SUM(A1)", "+1", "-2", "\tx", "\rx"]
    outcome = {"id": "u1", "initiative": "=cmd", "kind": "poll", "title": "@title", "decided_at": "2026-11-24",
               "result": {"options": [{"label": label, "votes": 1} for label in formulas]}}
    import csv
    import io
    from zoneinfo import ZoneInfo

    rows = list(csv.reader(io.StringIO(render([outcome], "csv", ZoneInfo("UTC")), newline="")))[1:]
    assert [row[5] for row in rows] == ["'" + label for label in formulas]
    assert {row[1] for row in rows} == {"'=cmd"} and {row[3] for row in rows} == {"'@title"}
    assert {row[6] for row in rows} == {"1"}, "numbers stay numbers"


def test_the_readme_console_example_works_as_written_again_and_again(tmp_path: Path) -> None:
    """The README's console example, up to the summary, run twice in one directory: both times the
    poll is #1 and closes with the same result (an earlier run's polls and languages do not leak in)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(part.split("```", 1)[0] for part in readme.split("```sh\n")[1:] if "interlink console" in part)
    lines = block.split("interlink summary")[0].rsplit("\n", 1)[0]  # up to the line before the summary
    command = lines.replace(".venv/bin/interlink", f"{sys.executable} -m bot.cli")
    summary = f"{sys.executable} -m bot.cli summary --format json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLINK_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    env["TMPDIR"] = str(tmp_path)  # where the example's mktemp puts its state
    for _attempt in range(2):
        done = subprocess.run(["bash", "-c", f"set -e\n{command}\n{summary}"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Poll #1 is closed: Which day for the clean-up?" in done.stdout
        assert "Result: “Sunday” with 2 votes." in done.stdout
        assert '"votes": 2' in done.stdout


def test_a_summary_says_ties_anonymity_and_deadlines_in_the_officers_language() -> None:
    from zoneinfo import ZoneInfo

    from bot.i18n import using_locale
    from bot.summary import render

    outcome = {"id": "u1", "initiative": "Via Roma", "kind": "poll", "title": "Bench?",
               "decided_at": "2026-11-24T17:00:00+00:00",
               "result": {"options": [{"label": "Oak", "votes": 2}, {"label": "Pine", "votes": 2}],
                          "total_votes": 4, "winners": ["Oak", "Pine"], "anonymous": True, "closed_by": "deadline"}}
    with using_locale("lv"):
        text = render([outcome], "text", ZoneInfo("Europe/Riga"))
    assert "kopā: 4 balsis · neizšķirts: Oak un Pine · anonīma · slēgta termiņa beigās" in text
    assert "19:00" in text and "(Europe/Riga)" in text
