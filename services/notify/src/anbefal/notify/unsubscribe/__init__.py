"""Respondents opting out of mail: signed links, the suppression list, the public page."""
