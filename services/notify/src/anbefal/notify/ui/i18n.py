"""The staff page's words in English and Danish."""

from __future__ import annotations

from anbefal.notify.ui.task_words import TASK_TEXTS

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Call-back queue",
        "nav": "Pages",
        "nav_dashboard": "Dashboard",
        "login": "Log in",
        "logout": "Log out",
        "users": "Users",
        "sources": "Sources",
        "settings": "Settings",
        "rules": "Rules",
        "accounts": "Accounts",
        "tenant": "Organisation",
        "email": "Email",
        "password": "Password",
        "bad_login": "Wrong organisation, email or password.",
        "throttled": "Too many attempts to log in. Try again in {wait}.",
        "seconds": "{n} seconds",
        "minutes": "{n} minutes",
        "busy": "Too many people are logging in right now. Try again in a few seconds.",
        "forged": "This form did not come from this page, or it has expired. Go back, reload "
        "the page and try again.",
        "queue": "Queue",
        "mine": "Mine",
        "due": "Due",
        "overdue": "Overdue",
        "score": "Score",
        "respondent": "Respondent",
        "comment": "Comment",
        "status": "Status",
        "assignee": "Assignee",
        "holder": "Held by",
        "claim": "Claim",
        "complete": "Complete",
        "outcome": "Outcome",
        "reason": "Reason for the score",
        "no_reason": "No reason given",
        "note": "Note",
        "notes": "Notes",
        "empty": "Nothing in the queue. Well done.",
        "open": "open",
        "claimed": "claimed",
        "done": "done",
        "cancelled": "cancelled",
        "attached": "Later answers, attached to this task",
        "reached": "Reached",
        "voicemail": "Voicemail",
        "no_answer": "No answer",
        "wrong_number": "Wrong number",
        "resolved": "Resolved",
        "call": "Call",
        "write": "Write",
        "back": "Back to the queue",
        "my_queue": "My queue",
        "team_queue": "Team queue",
        "team_forbidden": "Only directors and admins see the team queue.",
        "count": "{n} tasks in the queue",
        "no_history": "No earlier answers from this respondent.",
        "answered": "Answered",
        "this_task": "Task",
        "escalated": "Escalated",
        "reassign": "Reassign",
        "reassign_to": "Reassign to (email)",
        "note_optional": "Note (optional)",
        "reopen": "Reopen",
        "reopen_why": "Why reopen it?",
        "add_note": "Add a note",
        "save_note": "Save note",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_ask": "Stop all mail from {tenant} to {email}?",
        "unsubscribe_done": "Done: {tenant} will not send mail to {email} again.",
        "unsubscribe_bad": "This unsubscribe link is not valid.",
        "link_for": "This task was sent to {email}.",
        "link_closed": "This link no longer opens a task: the task is done, or it was given to "
        "someone else.",
        "link_done": "Thank you. The task is done.",
        "no_login": "no login",
        "unreachable": "no login, in the shared queue",
        "assigned_to": "assigned to {who}",
        "states": "{open} open · {overdue} overdue · {claimed} claimed",
        "pages": "Pages",
        "next_page": "Next page",
        "first_page": "First page",
        "need_note": "Write a note about what was said or done.",
        "need_outcome": "Choose how it went.",
        "need_email": "Enter a valid email address.",
        "check_form": "Check the form and try again.",
        "refused_not_open": "Someone else has taken this task already.",
        "refused_not_claimed": "Take the task before you complete it.",
        "refused_not_holder": "Someone else holds this task.",
        "refused_cancelled": "The answer no longer calls for this task.",
        "refused_done": "Reopen the task before you reassign it.",
        "refused_not_done": "The task is not done.",
        "refused_not_found": "There is no such task.",
    },
    "da": {
        "title": "Opfølgningskø",
        "nav": "Sider",
        "nav_dashboard": "Overblik",
        "login": "Log ind",
        "logout": "Log ud",
        "users": "Brugere",
        "sources": "Datakilder",
        "settings": "Indstillinger",
        "rules": "Regler",
        "accounts": "Kunder",
        "tenant": "Organisation",
        "email": "E-mail",
        "password": "Adgangskode",
        "bad_login": "Forkert organisation, e-mail eller adgangskode.",
        "throttled": "For mange forsøg på at logge ind. Prøv igen om {wait}.",
        "seconds": "{n} sekunder",
        "minutes": "{n} minutter",
        "busy": "Der er for mange, der logger ind lige nu. Prøv igen om et par sekunder.",
        "forged": "Formularen kom ikke fra denne side, eller den er udløbet. Gå tilbage, "
        "genindlæs siden og prøv igen.",
        "queue": "Kø",
        "mine": "Mine",
        "due": "Frist",
        "overdue": "Overskredet",
        "score": "Score",
        "respondent": "Respondent",
        "comment": "Kommentar",
        "status": "Status",
        "assignee": "Ansvarlig",
        "holder": "Taget af",
        "claim": "Tag opgaven",
        "complete": "Afslut",
        "outcome": "Udfald",
        "reason": "Årsag til scoren",
        "no_reason": "Ingen årsag angivet",
        "note": "Note",
        "notes": "Noter",
        "empty": "Køen er tom. Godt klaret.",
        "open": "åben",
        "claimed": "taget",
        "done": "afsluttet",
        "cancelled": "annulleret",
        "attached": "Senere svar, knyttet til denne opgave",
        "reached": "Fik fat i kunden",
        "voicemail": "Telefonsvarer",
        "no_answer": "Intet svar",
        "wrong_number": "Forkert nummer",
        "resolved": "Løst",
        "call": "Ring",
        "write": "Skriv",
        "back": "Tilbage til køen",
        "my_queue": "Min kø",
        "team_queue": "Teamets kø",
        "team_forbidden": "Kun direktører og administratorer ser teamets kø.",
        "count": "{n} opgaver i køen",
        "no_history": "Ingen tidligere svar fra denne respondent.",
        "answered": "Besvaret",
        "this_task": "Opgave",
        "escalated": "Eskaleret",
        "reassign": "Overdrag",
        "reassign_to": "Overdrag til (e-mail)",
        "note_optional": "Note (valgfri)",
        "reopen": "Genåbn",
        "reopen_why": "Hvorfor genåbne den?",
        "add_note": "Tilføj en note",
        "save_note": "Gem note",
        "unsubscribe": "Afmeld",
        "unsubscribe_ask": "Stop alle mails fra {tenant} til {email}?",
        "unsubscribe_done": "Sådan: {tenant} sender ikke flere mails til {email}.",
        "unsubscribe_bad": "Dette afmeldingslink er ikke gyldigt.",
        "link_for": "Denne opgave blev sendt til {email}.",
        "link_closed": "Linket åbner ikke længere en opgave: den er afsluttet eller givet videre "
        "til en anden.",
        "link_done": "Tak. Opgaven er afsluttet.",
        "no_login": "intet login",
        "unreachable": "intet login, ligger i fælleskøen",
        "assigned_to": "tildelt {who}",
        "states": "{open} åbne · {overdue} overskredne · {claimed} taget",
        "pages": "Sider",
        "next_page": "Næste side",
        "first_page": "Første side",
        "need_note": "Skriv en note om, hvad der blev sagt eller gjort.",
        "need_outcome": "Vælg et udfald.",
        "need_email": "Skriv en gyldig e-mailadresse.",
        "check_form": "Tjek formularen, og prøv igen.",
        "refused_not_open": "En anden har allerede taget opgaven.",
        "refused_not_claimed": "Tag opgaven, før du afslutter den.",
        "refused_not_holder": "En anden har opgaven.",
        "refused_cancelled": "Svaret kræver ikke længere denne opgave.",
        "refused_done": "Genåbn opgaven, før du overdrager den.",
        "refused_not_done": "Opgaven er ikke afsluttet.",
        "refused_not_found": "Opgaven findes ikke.",
    },
}

# The task page's context and reply words live beside it (`ui/task_words.py`).
for _locale, _words in TASK_TEXTS.items():
    TEXTS[_locale].update(_words)


def wait_words(words: dict[str, str], seconds: int) -> str:
    """A wait in words: seconds below two minutes, whole minutes (rounded up) above."""
    if seconds < 120:
        return words["seconds"].format(n=seconds)
    return words["minutes"].format(n=-(-seconds // 60))


def texts(locale: str | None) -> dict[str, str]:
    return TEXTS.get((locale or "en")[:2], TEXTS["en"])


def supported(locale: str | None) -> str | None:
    """`da` for `da-DK`, None for a language we do not have."""
    code = (locale or "").strip().split("-")[0].lower()
    return code if code in TEXTS else None


def negotiate(accept_language: str | None) -> str | None:
    """The language we have that a browser's `Accept-Language` prefers most (RFC 9110), or
    None."""
    ranked = []
    for place, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if (code := supported(tag)) and q > 0:
            ranked.append((-q, place, code))
    return min(ranked)[2] if ranked else None
