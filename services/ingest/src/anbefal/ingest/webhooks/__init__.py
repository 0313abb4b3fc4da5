"""Survey tools' webhooks: verified by each tool's signature, parsed by its adapter, and for
the thin ones (SurveyMonkey, Qualtrics) fetched from the tool's API by the fetch worker."""
