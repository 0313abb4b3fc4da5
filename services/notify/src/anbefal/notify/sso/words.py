"""The single sign-on form's and refusals' words, in English and Danish."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Company account",
        "lead": "If your organisation uses single sign-on, sign in with your work account: "
        "the email address you have at work.",
        "work_email": "Work account",
        "continue": "Continue",
        "or_password": "Or log in with a password",
        "unknown_domain": "Single sign-on is not set up for {domain}. Log in with your "
        "password, or ask your administrator.",
        "unreachable": "Your company's sign-in service did not answer. Try again in a minute.",
        "expired": "The sign-in took too long or was started in another browser. Try again.",
        "refused": "Your company's sign-in service did not let you in.",
        "wrong_address": "Your company account has no verified email address in a domain that "
        "may sign in here.",
        "no_role": "Your company account is in no group that gives access here. Ask your "
        "administrator.",
        "deactivated": "Your access has been closed. Ask your administrator.",
        "forged": "This form did not come from this page, or it has expired. Go back, reload "
        "the page and try again.",
    },
    "da": {
        "heading": "Virksomhedskonto",
        "lead": "Bruger jeres organisation single sign-on, så log ind med din arbejdskonto: "
        "den mailadresse, du har på arbejdet.",
        "work_email": "Arbejdskonto",
        "continue": "Fortsæt",
        "or_password": "Eller log ind med adgangskode",
        "unknown_domain": "Der er ikke sat single sign-on op for {domain}. Log ind med din "
        "adgangskode, eller spørg jeres administrator.",
        "unreachable": "Jeres login-tjeneste svarede ikke. Prøv igen om et øjeblik.",
        "expired": "Login tog for lang tid eller blev startet i en anden browser. Prøv igen.",
        "refused": "Jeres login-tjeneste gav dig ikke adgang.",
        "wrong_address": "Din virksomhedskonto har ingen bekræftet mailadresse i et domæne, der "
        "må logge ind her.",
        "no_role": "Din virksomhedskonto er ikke med i en gruppe, der giver adgang her. Spørg "
        "jeres administrator.",
        "deactivated": "Din adgang er lukket. Spørg jeres administrator.",
        "forged": "Formularen kom ikke fra denne side, eller den er udløbet. Gå tilbage, "
        "genindlæs siden og prøv igen.",
    },
}


def sso_words(locale: str | None) -> dict[str, str]:
    return WORDS.get((locale or "en")[:2].lower(), WORDS["en"])
