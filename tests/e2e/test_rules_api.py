"""Tenant rules through a real closed_loop process: validated, versioned, used for new answers."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, published, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def answer(
    tenant: str, rid: str, score: int, comment: str | None, **segments: str
) -> SurveyResponse:
    now = datetime.now(UTC)
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=1, tenant=tenant, kind="nps",
        score=score, comment=comment, answered_at=now, received_at=now,
        source=Source(tool="api", response_id=rid), respondent=Respondent(key=rid),
        segments=segments,
    )  # fmt: skip


async def test_rules_are_validated_versioned_and_applied(stack: Any) -> None:
    url = stack.new_database()
    closed_loop = ServiceProcess("closed-loop", stack.service_env(url), stack.root / "logs").start()
    tenant = f"rules-{uuid.uuid4().hex[:8]}"
    admin = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="ada@acme.example")
    agent = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="ida@acme.example")
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="rules-test")
    await publisher.start()
    rules_url = f"{closed_loop.url}/v1/tenants/{tenant}/rules"
    try:
        await closed_loop.wait_ready()
        await publisher.wait_ready(30)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as api:
            r = await api.get(rules_url)
            assert r.json()["version"] == 0
            rules = r.json()["rules"]
            assert [x["id"] for x in rules] == [
                "detractor-call", "passive-follow-up", "promoter-thank-you", "ask-why",
            ]  # fmt: skip

            bad = [*rules, {**rules[0], "id": "broken", "min_score": 9, "max_score": 2}]
            r = await api.put(rules_url, json={"rules": bad})
            assert r.status_code == 422
            detail = r.json()["error"]["details"][0]
            assert detail["field"].startswith("rules.4")
            assert "min_score 9 is above max_score 2" in detail["message"]

            # Switch ask-why on, and route gold-tier detractors to a VIP call that stops there.
            vip = {
                **rules[0],
                "id": "vip-call",
                "segments": {"tier": "gold"},
                "due_hours": 4,
                "stop": True,
            }
            new = [vip, *rules[:3], {**rules[3], "enabled": True}]
            r = await api.put(rules_url, json={"rules": new})
            assert r.status_code == 200, r.text
            assert (r.json()["version"], r.json()["updated_by"]) == (1, "ada@acme.example")
            r = await api.put(
                rules_url, json={"rules": new}, headers={"Authorization": f"Bearer {agent}"}
            )
            assert r.status_code == 403
            history = (await api.get(f"{rules_url}/history")).json()["versions"]
            assert [v["version"] for v in history] == [1]

        answers = [
            answer(tenant, "gold", 2, None, tier="gold"),
            answer(tenant, "plain", 2, "slow"),
            answer(tenant, "quiet", 9, None),
        ]
        await publisher.send_many(topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in answers])

        async def decided() -> dict[str, list[str]]:
            values = await published(stack.kafka.bootstrap, topics.ACTIONS, f"{tenant}:")
            by_answer: dict[str, list[str]] = {}
            for value in values:
                action = orjson.loads(value)
                rid = {a.event_id.hex: a.source.response_id for a in answers}[
                    uuid.UUID(action["response_event_id"]).hex
                ]
                by_answer.setdefault(rid, []).append(action["rule_id"])
            return {k: sorted(v) for k, v in by_answer.items()}

        async def all_three() -> bool:
            return len(await decided()) == 3

        await wait_until(all_three, 60, "actions for the three answers")

        # The same through the command line: get, edit, set (a bad file is refused).
        env = stack.service_env(url)
        cli = [sys.executable, "-m", "anbefal.cli.main", "rules"]
        where = ["--tenant", tenant, "--url", closed_loop.url]
        got = subprocess.run(
            [*cli, "get", *where], env=env, capture_output=True, text=True, check=True
        )
        doc = json.loads(got.stdout)
        assert [r["id"] for r in doc["rules"]][0] == "vip-call"
        rules_file = stack.root / f"rules-{tenant}.json"
        doc["rules"][0]["max_score"] = 42
        rules_file.write_text(json.dumps(doc))
        bad = subprocess.run(
            [*cli, "set", str(rules_file), *where], env=env, capture_output=True, text=True
        )
        assert bad.returncode == 1
        assert "rules.0.max_score" in bad.stderr
        doc["rules"][0]["max_score"] = 6
        rules_file.write_text(json.dumps(doc))
        ok = subprocess.run(
            [*cli, "set", str(rules_file), *where], env=env, capture_output=True, text=True
        )
        assert ok.returncode == 0, ok.stderr
        assert "saved version 2" in ok.stderr
        assert await decided() == {
            "gold": ["vip-call"],  # stop: no regular call, no ask-why
            "plain": ["detractor-call"],  # has a comment: no ask-why
            "quiet": ["ask-why", "promoter-thank-you"],
        }

        # Owners from files: CSV for the accounts, JSON for the people (a bad one is refused).
        accounts_file = stack.root / f"accounts-{tenant}.csv"
        accounts_file.write_text("account_id,salesperson,director\nacme,s@x.dk,d@x.dk\n")
        ok = subprocess.run(
            [*cli, "accounts", str(accounts_file), *where], env=env, capture_output=True, text=True
        )
        assert ok.returncode == 0, ok.stderr
        assert "saved 1 accounts, 0 segments" in ok.stderr
        people_file = stack.root / f"people-{tenant}.json"
        people_file.write_text(
            json.dumps({"people": [{"email": "d@x.dk", "time_zone": "Nowhere"}]})
        )
        bad = subprocess.run(
            [*cli, "people", str(people_file), *where], env=env, capture_output=True, text=True
        )
        assert bad.returncode == 1
        assert "people.0.time_zone: Value error, unknown time zone 'Nowhere'" in bad.stderr
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as api:
            r = await api.get(f"{closed_loop.url}/v1/tenants/{tenant}/accounts")
        assert r.json() == {
            "accounts": [{"account_id": "acme", "salesperson": "s@x.dk", "director": "d@x.dk"}],
            "segments": [],
        }
    finally:
        await publisher.stop()
        closed_loop.stop()


async def test_what_the_admin_pages_read_history_refusals_rows_and_counts(stack: Any) -> None:
    url = stack.new_database()
    closed_loop = ServiceProcess("closed-loop", stack.service_env(url), stack.root / "logs").start()
    tenant = f"admin-{uuid.uuid4().hex[:8]}"
    admin = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="ada@acme.example")
    base = f"{closed_loop.url}/v1/tenants/{tenant}"
    try:
        await closed_loop.wait_ready()
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as api:
            rules = (await api.get(f"{base}/rules")).json()["rules"]
            # A refusal says which rule check failed as its type, for a page to translate.
            bad = [{**rules[0], "min_score": 6, "max_score": 2}, *rules[1:]]
            r = await api.put(f"{base}/rules", json={"rules": bad})
            assert r.status_code == 422
            assert [(d["field"], d["type"]) for d in r.json()["error"]["details"]] == [
                ("rules.0", "score_range")
            ]
            # The set-wide holiday calendar survives a GET then PUT of what it gave.
            r = await api.put(f"{base}/rules", json={"rules": rules, "holiday_country": "SE"})
            assert r.status_code == 200, r.text
            assert r.json()["holiday_country"] == "SE"
            got = (await api.get(f"{base}/rules")).json()
            got["rules"][0]["due_hours"] = 24
            doc = {k: got[k] for k in ("rules", "enps_individual_follow_up", "holiday_country")}
            assert (await api.put(f"{base}/rules", json=doc)).status_code == 200

            # Each version says what it changed against the one before it.
            history = (await api.get(f"{base}/rules/history")).json()
            assert history["in_force"] == 2
            assert [(v["version"], v["changes"]) for v in history["versions"]] == [
                (2, {"added": [], "removed": [], "edited": ["detractor-call"],
                     "reordered": False}),
                (1, {"added": [], "removed": [], "edited": [], "reordered": False,
                     "holiday_country": {"from": None, "to": "SE"}}),
            ]  # fmt: skip

            # Owners from CSV: a good file, then a bad one refused row by row, nothing of it
            # loaded; the loaded lists counted and paged.
            csv_type = {"Content-Type": "text/csv"}
            good = "account_id,salesperson,director\n" + "".join(
                f"acct-{i:02d},sp{i}@x.dk,dir@x.dk\n" for i in range(30)
            )
            r = await api.put(f"{base}/accounts", content=good, headers=csv_type)
            assert r.json() == {"tenant": tenant, "accounts": 30, "segments": 0}
            bad_file = "account_id,salesperson,director\nnew,sp@x.dk,dir@x.dk\nother,nobody,\n"
            r = await api.put(f"{base}/accounts", content=bad_file, headers=csv_type)
            assert r.status_code == 422
            assert r.json()["error"]["code"] == "invalid_rows"
            assert [(d["row"], d["field"], d["type"]) for d in r.json()["error"]["details"]] == [
                (3, "salesperson", "string_pattern_mismatch")
            ]
            r = await api.get(f"{base}/owners")
            assert r.json() == {"tenant": tenant, "accounts": 30, "segments": 0, "people": 0}
            r = await api.get(f"{base}/accounts", params={"offset": 25, "limit": 10})
            assert [a["account_id"] for a in r.json()["accounts"]] == [
                f"acct-{i}" for i in range(25, 30)
            ]

        # The command line: `rules get` gives back the holiday calendar `rules set` needs, and a
        # bad CSV file's rows are named.
        env = stack.service_env(url)
        cli = [sys.executable, "-m", "anbefal.cli.main", "rules"]
        where = ["--tenant", tenant, "--url", closed_loop.url]
        got_cli = subprocess.run(
            [*cli, "get", *where], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(got_cli.stdout)["holiday_country"] == "SE"
        history_cli = subprocess.run(
            [*cli, "history", *where], env=env, capture_output=True, text=True, check=True
        )
        lines = history_cli.stdout.splitlines()
        assert lines[0].startswith("version 2 (in force)")
        assert lines[0].endswith("ada@acme.example")
        assert lines[1:4] == [
            "  edited: detractor-call",
            "version 1  " + history["versions"][1]["updated_at"] + "  ada@acme.example",
            "  holiday_country: None -> SE",
        ]
        bad_path = stack.root / f"accounts-{tenant}.csv"
        bad_path.write_text(bad_file)
        refused = subprocess.run(
            [*cli, "accounts", str(bad_path), *where], env=env, capture_output=True, text=True
        )
        assert refused.returncode == 1
        assert "row 3, salesperson: String should match pattern" in refused.stderr
    finally:
        closed_loop.stop()
