"""`anbefal demo load --tenant T`: a Danish company's last six months, so a newcomer sees a
living dashboard within a minute.

Nordlys Energi A/S sells and installs heat pumps in Denmark, Sweden and Norway: customers answer
an NPS survey after an installation or a support case (department, country), and employees answer
a monthly eNPS pulse (team, department). The answers are generated from a fixed seed, so loading
twice sends the same answers (ingest counts them as duplicates), and posted as history: scored
with their own dates, never routed (no call task, no mail).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer

from anbefal.cli.api import fail, tenant_client
from anbefal.cli.ingest import URL, post_batch
from anbefal.common.services import INGEST

app = typer.Typer(help="Demo data for a local system.", no_args_is_help=True)
DAYS = 182
BATCH = 500
COMPANY = "Nordlys Energi A/S"

# "department/country": (answers a week, the mean score); support in Sweden lags.
NPS_SEGMENTS = {
    "Kundeservice/DK": (22, 7.6),
    "Kundeservice/SE": (9, 6.4),
    "Montage/DK": (16, 8.4),
    "Montage/NO": (6, 8.0),
    "Salg/DK": (12, 7.9),
    "Salg/SE": (5, 7.2),
}
# "department/team": (people, mean score); Ledelse is too small to be shown on its own.
TEAMS = {
    "Kundeservice/Kundeservice Aarhus": (14, 7.0),
    "Kundeservice/Kundeservice Malmö": (8, 6.2),
    "Montage/Montage Vest": (11, 8.3),
    "Montage/Montage Øst": (9, 7.8),
    "Salg/Salg": (10, 7.5),
    "Ledelse/Ledelse": (3, 8.0),
}
COMMENTS = {
    "detractor": [
        "Ventede tre uger på en montør, og ingen ringede tilbage.",
        "Fakturaen var forkert to gange i træk.",
        "Svært at komme igennem på telefonen, over 40 minutters ventetid.",
        "Varmepumpen larmer mere end lovet, og support tog det ikke alvorligt.",
        "Montøren kom ikke til den aftalte tid.",
        "Ingen vidste, hvem der havde min sag.",
    ],
    "passive": [
        "Fint nok, men det tog lang tid at få et tilbud.",
        "Installationen var god, men oprydningen kunne være bedre.",
        "Ok service, prisen er lidt høj.",
        "Appen virker, men er svær at finde rundt i.",
    ],
    "promoter": [
        "Montøren var hurtig, venlig og ryddede op efter sig.",
        "Super god rådgivning, jeg fik præcis den løsning, jeg havde brug for.",
        "Kundeservice løste mit problem på første opkald.",
        "Vores elregning er faldet mærkbart. Tak!",
        "Professionelt fra start til slut.",
    ],
}
ENPS_COMMENTS = [
    "God stemning i teamet, men for mange overarbejdstimer.",
    "Jeg savner klarere mål fra ledelsen.",
    "Gode kolleger og fleksible arbejdstider.",
    "Systemerne er langsomme, det koster tid hver dag.",
    "",
    "",
]


def _score(rng: random.Random, mean: float) -> int:
    return max(0, min(10, round(rng.gauss(mean, 2.0))))


def _category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def answers(now: datetime, seed: int = 2026) -> Iterator[dict[str, Any]]:
    """The six months of answers, oldest first; the same seed and day give the same answers."""
    rng = random.Random(seed)
    start = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    customer = 0
    pulsed: set[tuple[int, int]] = set()
    for day in range(DAYS):
        date = start + timedelta(days=day)
        if date.weekday() >= 5:
            continue
        # Support improves over the half year: the trend has something to show.
        lift = day / DAYS * 1.2
        for segment, (per_week, mean) in NPS_SEGMENTS.items():
            department, country = segment.split("/")
            for _ in range(rng.randint(0, round(per_week / 5 * 2))):
                customer += 1
                score = _score(rng, mean + (lift if department == "Kundeservice" else 0))
                category = _category(score)
                comment = rng.choice(COMMENTS[category]) if rng.random() < 0.6 else None
                at = date + timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
                yield {
                    "response_id": f"demo-nps-{customer}",
                    "kind": "nps",
                    "score": score,
                    "comment": comment,
                    "answered_at": at.isoformat(),
                    "respondent": {
                        "id": f"kunde-{customer}",
                        "name": f"Kunde {customer}",
                        "locale": "da",
                        "account_id": f"konto-{customer % 400}",
                    },
                    "segments": {"department": department, "country": country},
                }
        if (date.year, date.month) not in pulsed:  # the eNPS pulse: a month's first weekday
            pulsed.add((date.year, date.month))
            for unit, (people, mean) in TEAMS.items():
                department, team = unit.split("/")
                for person in range(people):
                    if rng.random() < 0.15:
                        continue  # not everyone answers every month
                    at = date + timedelta(hours=rng.randint(8, 16))
                    yield {
                        "response_id": f"demo-enps-{date:%Y-%m}-{team}-{person}",
                        "kind": "enps",
                        "score": _score(rng, mean),
                        "comment": rng.choice(ENPS_COMMENTS) or None,
                        "answered_at": at.isoformat(),
                        "segments": {"team": team, "department": department},
                    }


def load(client: httpx.Client, docs: list[dict[str, Any]]) -> dict[str, int]:
    """Post the answers as history to ingest's tenant API (`client`), in batches, printing
    progress; returns how many were accepted, already there and refused."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for first in range(0, len(docs), BATCH):
        response = post_batch(client, docs[first : first + BATCH], history=True)
        if response.status_code not in (202, 207):
            fail(response)
        for result in response.json()["results"]:
            counts[result["status"]] += 1
        done = min(first + BATCH, len(docs))
        print(f"  {done}/{len(docs)} answers sent", file=sys.stderr, flush=True)
    return counts


@app.command("load")
def demo_load(
    tenant: Annotated[str, typer.Option(help="The tenant to load the demo into")] = "demo",
    url: Annotated[str, URL] = INGEST.dev_url,
) -> None:
    """Load six months of a Danish company's NPS and eNPS answers (with Danish comments) as
    history: scored, never routed."""
    docs = list(answers(datetime.now(UTC)))
    print(f"loading {COMPANY}'s last six months into tenant {tenant} ...", file=sys.stderr)
    with tenant_client(tenant, url, role="ingest", timeout=60) as client:
        counts = load(client, docs)
    print(
        f"{counts['accepted']} answers scored, {counts['duplicate']} already there, "
        f"{counts['rejected']} refused; 0 routed: loaded as history (no task, no mail)",
        file=sys.stderr,
    )
    if counts["rejected"]:
        raise typer.Exit(1)
