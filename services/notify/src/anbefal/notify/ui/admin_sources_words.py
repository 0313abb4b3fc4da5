"""The sources page's words in English and Danish, and ingest's refusals of a source form put
next to the field they are about, in the page's language."""

from __future__ import annotations

from typing import Any

TOOLS = ("typeform", "tally", "formbricks", "delighted", "jotform", "surveymonkey",
         "qualtrics", "generic")  # fmt: skip

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Survey sources",
        "add": "Add a source",
        "name": "Name (a-z, 0-9 and -)",
        "tool": "Survey tool",
        "kind": "Kind",
        "nps": "NPS (customers)",
        "enps": "eNPS (staff)",
        "score_field": "The 0-10 question's id or ref",
        "comment_field": "The 'why?' question (optional)",
        "mapping": "Other fields, one per line (optional)",
        "mapping_hint": (
            "respondent.email=email · segment.department=department · owner.director=director_email"
        ),
        "secret": "Signing secret (optional)",
        "secret_hint": (
            "Leave it empty and Anbefal makes one. Formbricks, Delighted and SurveyMonkey make "
            "their own: paste it here."
        ),
        "fetching": "SurveyMonkey and Qualtrics only",
        "api_token": "API token",
        "api_base_url": "API address (optional)",
        "client_id": "SurveyMonkey client ID",
        "save": "Add source",
        "none": "No sources yet.",
        "webhook_url": "Webhook URL",
        "open": "Deliveries and settings",
        "copy": "Copy",
        "copied": "Copied.",
        "shown_once": "Copy the secret now and paste it into {tool}: it will not be shown again.",
        "secret_label": "Signing secret",
        "added": "The source is saved.",
        "rotated": "The source has a new secret. The old one is refused from now on.",
        "rotate": "New secret",
        "rotate_heading": "Replace the signing secret",
        "rotate_hint": (
            "The old secret stops working at once: put the new one into the tool straight away. For"
            " Formbricks, Delighted and SurveyMonkey, paste the new secret they show."
        ),
        "new_secret": "New secret from the tool (optional)",
        "deliveries": "Last deliveries",
        "no_deliveries": "No deliveries in the last 7 days.",
        "when": "Last",
        "status": "Status",
        "outcome": "Outcome",
        "count": "How many",
        "trace": "Trace id",
        "rejected": "Refused deliveries",
        "no_rejected": "Nothing refused.",
        "reason": "Reason",
        "replay": "Replay",
        "replayed": "replayed",
        "not_replayable": "not replayable (unsigned)",
        "done_replayed": "Replayed: the delivery went through.",
        "still_refused": "Still refused: {reason}",
        "back": "All sources",
        "admins_only": "Only administrators manage survey sources.",
        "forged": "This form did not come from this page, or it has expired. Reload the page.",
        "unavailable": (
            "The sources cannot be read right now (ingest does not answer). Try again in a moment."
        ),
        "no_source": "There is no such source.",
        "bad_mapping": "Cannot read the line '{line}': write e.g. segment.department=department.",
        "err_name": (
            "Use small letters, digits and hyphens (at most 63), starting with a letter or digit."
        ),
        "err_score": "Name the question that holds the 0-10 score.",
        "err_secret": (
            "The secret does not fit this tool: at least 32 characters (16 for a secret the tool "
            "made; Formbricks: whsec_...)."
        ),
        "err_secret_required": "This tool makes its own secret: paste it here.",
        "err_api": (
            "SurveyMonkey and Qualtrics need an API token (and the vendor's own API address, if "
            "any)."
        ),
        "err_client_id": "SurveyMonkey needs the app's client ID.",
        "err_mapping": "One of the fields cannot be used; check the lines.",
        "err_form": "Ingest refused the source: {message}",
        "o_accepted": "received",
        "o_duplicate": "already received",
        "o_ignored": "not an answer to score",
        "o_bad_signature": "wrong signature",
        "o_invalid_response": "not a valid answer",
        "o_malformed_body": "unreadable body",
        "o_unavailable": "try again later",
        "o_not_scored": "no score: the question was not found or not answered",
        "o_rate_limited": "too many at once",
    },
    "da": {
        "heading": "Datakilder",
        "add": "Tilføj en kilde",
        "name": "Navn (a-z, 0-9 og -)",
        "tool": "Spørgeskemaværktøj",
        "kind": "Type",
        "nps": "NPS (kunder)",
        "enps": "eNPS (medarbejdere)",
        "score_field": "Id eller ref på 0-10-spørgsmålet",
        "comment_field": "Spørgsmålet 'hvorfor?' (valgfrit)",
        "mapping": "Andre felter, ét pr. linje (valgfrit)",
        "mapping_hint": (
            "respondent.email=email · segment.department=afdeling · owner.director=leder_email"
        ),
        "secret": "Signeringsnøgle (valgfri)",
        "secret_hint": (
            "Lad feltet stå tomt, så laver Anbefal en. Formbricks, Delighted og SurveyMonkey laver "
            "deres egen: indsæt den her."
        ),
        "fetching": "Kun SurveyMonkey og Qualtrics",
        "api_token": "API-token",
        "api_base_url": "API-adresse (valgfri)",
        "client_id": "SurveyMonkeys client-id",
        "save": "Tilføj kilde",
        "none": "Ingen kilder endnu.",
        "webhook_url": "Webhook-adresse",
        "open": "Leveringer og indstillinger",
        "copy": "Kopiér",
        "copied": "Kopieret.",
        "shown_once": "Kopiér nøglen nu, og indsæt den i {tool}: den bliver ikke vist igen.",
        "secret_label": "Signeringsnøgle",
        "added": "Kilden er gemt.",
        "rotated": "Kilden har fået en ny nøgle. Den gamle bliver afvist fra nu af.",
        "rotate": "Ny nøgle",
        "rotate_heading": "Skift signeringsnøglen",
        "rotate_hint": (
            "Den gamle nøgle holder op med at virke med det samme, så sæt straks den nye ind i "
            "værktøjet. For Formbricks, Delighted og SurveyMonkey indsætter du den nye nøgle, "
            "de viser."
        ),
        "new_secret": "Ny nøgle fra værktøjet (valgfri)",
        "deliveries": "Seneste leveringer",
        "no_deliveries": "Ingen leveringer de seneste 7 dage.",
        "when": "Senest",
        "status": "Status",
        "outcome": "Resultat",
        "count": "Antal",
        "trace": "Sporings-id",
        "rejected": "Afviste leveringer",
        "no_rejected": "Intet er afvist.",
        "reason": "Årsag",
        "replay": "Kør igen",
        "replayed": "kørt igen",
        "not_replayable": "kan ikke køres igen (ikke signeret)",
        "done_replayed": "Kørt igen: leveringen gik igennem.",
        "still_refused": "Stadig afvist: {reason}",
        "back": "Alle kilder",
        "admins_only": "Kun administratorer kan styre datakilder.",
        "forged": "Formularen kom ikke fra denne side, eller den er udløbet. Genindlæs siden.",
        "unavailable": "Kilderne kan ikke hentes lige nu (ingest svarer ikke). Prøv igen om lidt.",
        "no_source": "Kilden findes ikke.",
        "bad_mapping": "Linjen '{line}' kan ikke læses: skriv fx segment.department=afdeling.",
        "err_name": (
            "Brug små bogstaver, tal og bindestreg (højst 63), og start med et bogstav eller tal."
        ),
        "err_score": "Angiv det spørgsmål, der har scoren fra 0 til 10.",
        "err_secret": (
            "Nøglen passer ikke til værktøjet: mindst 32 tegn (16 for en nøgle, værktøjet har "
            "lavet; Formbricks: whsec_...)."
        ),
        "err_secret_required": "Dette værktøj laver selv nøglen: indsæt den her.",
        "err_api": (
            "SurveyMonkey og Qualtrics kræver et API-token (og leverandørens egen API-adresse, hvis"
            " I har en)."
        ),
        "err_client_id": "SurveyMonkey kræver appens client-id.",
        "err_mapping": "Et af felterne kan ikke bruges; tjek linjerne.",
        "err_form": "Ingest afviste kilden: {message}",
        "o_accepted": "modtaget",
        "o_duplicate": "allerede modtaget",
        "o_ignored": "ikke et svar med score",
        "o_bad_signature": "forkert signatur",
        "o_invalid_response": "ikke et gyldigt svar",
        "o_malformed_body": "ulæseligt indhold",
        "o_unavailable": "prøv igen senere",
        "o_not_scored": "ingen score: spørgsmålet blev ikke fundet eller besvaret",
        "o_rate_limited": "for mange på én gang",
    },
}

# What a refusal is about (its field, code or wording), and the form field it is shown next to.
_ABOUT = (
    ("secret_required", "secret", "err_secret_required"),
    ("reserved_name", "name", "err_name"),
    ("path.name", "name", "err_name"),
    ("fields.score", "score_field", "err_score"),
    ("client_id", "client_id", "err_client_id"),  # before "secret": client_id&client_secret
    ("api_", "api_token", "err_api"),
    ("secret", "secret", "err_secret"),
    ("segments", "mapping", "err_mapping"),
    ("respondent", "mapping", "err_mapping"),
    ("owners", "mapping", "err_mapping"),
)


def field_errors(
    text: dict[str, str], status: int, code: str, message: str, details: list[dict[str, Any]]
) -> dict[str, str]:
    """Ingest's refusal as {form field: message in the page's language}; what we have no
    words for is shown above the form (`form`) in ingest's own words."""
    errors: dict[str, str] = {}
    for said in [code] + [f"{d.get('field')} {d.get('message')}" for d in details] + [message]:
        for about, field, key in _ABOUT:
            if about in said and field not in errors:
                errors[field] = text[key]
                break
    if not errors:
        errors["form"] = text["err_form"].format(message=message)
    return errors
